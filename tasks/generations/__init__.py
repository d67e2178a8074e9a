"""Labelled model generations (the iterative CRINGE loop's files) as a ParlAI teacher; see ``agents.py``."""
