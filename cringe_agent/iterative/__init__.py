"""The iterative CRINGE loop: train, generate, label, select, retrain; resumable, in one run directory."""
