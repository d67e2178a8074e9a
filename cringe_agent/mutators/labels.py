"""Label mutators: keep positives or negatives, relabel other conventions to pos/neg."""
