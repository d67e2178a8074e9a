"""Contradiction teacher: DECODE; see agents.py."""
