"""The ``cringe`` zoo family: ``zoo:cringe/<name>`` names of ParlAI's evaluation classifiers (see ``build.py``)."""
