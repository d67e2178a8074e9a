"""The generations mutator: inject a previous round's labelled generations as examples."""
