"""ParlAI agents that train with the CRINGE loss; importing this package applies :mod:`cringe_agent.compat`.

It also registers the ``cringe_`` mutators: ParlAI imports a ``-m`` module before it resolves ``--mutators`` (see
:mod:`cringe_agent.mutators.generations`), so ``--mutators cringe_generations`` works on ParlAI's own tasks too when
the model is one of these agents.
"""

from cringe_agent import (
    compat,  # noqa: F401  (ParlAI fixes before any ParlAI agent code runs)
    mutators,  # noqa: F401  (registers the cringe_ mutators)
)
