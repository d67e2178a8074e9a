"""Model zoo of cringe-agent: ``zoo:cringe/<name>`` names for ParlAI's evaluation classifiers (``zoo/README.md``).

ParlAI resolves ``zoo:`` paths only inside ``parlai.zoo``; :func:`resolve` turns ours (and ParlAI's) into absolute
model files with ParlAI's own download code, and raises one :class:`ZooModelMissingError` when a model is neither on
disk nor downloadable. Importing this package does not import ParlAI.
"""

from zoo.cringe.build import CLASSIFIERS, ZooModelMissingError
from zoo.paths import default_datapath, resolve

__all__ = ["CLASSIFIERS", "ZooModelMissingError", "default_datapath", "resolve"]
