"""ParlAI mutators of cringe-agent, registered under ``cringe_`` names when this package is imported.

ParlAI only scans its own packages for mutators, so every task module of this project imports this package
before ParlAI resolves the mutators named in a ``-t`` string.
"""

from cringe_agent import compat  # noqa: F401  (ParlAI fixes first)
from cringe_agent.mutators import generations, labels  # noqa: F401  (registration side effect)
