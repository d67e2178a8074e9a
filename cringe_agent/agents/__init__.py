"""ParlAI agents that train with the CRINGE loss; importing this package applies :mod:`cringe_agent.compat`."""

from cringe_agent import compat  # noqa: F401  (ParlAI fixes before any ParlAI agent code runs)
