"""Open-domain feedback teacher: FITS; see agents.py."""
