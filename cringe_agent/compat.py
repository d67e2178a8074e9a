"""Compatibility fixes for ParlAI 1.7.2 on current torch / Python 3.11 (filled in below)."""
