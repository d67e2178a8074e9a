"""cringe-agent: the CRINGE loss (Adolphs et al., 2022, arXiv:2211.05826) as a ParlAI plug-in.

Importing this package does not import ParlAI; ``cringe_agent.agents`` and ``cringe_agent.mutators`` do.
"""

from cringe_agent.loss import CringeLoss, CringeOutput, cringe_loss

__version__ = "0.1.0"
__all__ = ["CringeLoss", "CringeOutput", "cringe_loss", "__version__"]
