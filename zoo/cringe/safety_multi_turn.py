"""ParlAI's multi-turn BERT safety classifier (zoo:dialogue_safety/multi_turn/model): offensive in context."""

from __future__ import annotations

from zoo.cringe.build import CLASSIFIERS
from zoo.cringe.build import download as download_classifier

NAME = "safety_multi_turn"
VERSION = CLASSIFIERS[NAME].version


def download(datapath: str) -> None:
    """Fetch the model into ``<datapath>/models`` with ParlAI's zoo download (see ``zoo/cringe/build.py``)."""
    download_classifier(datapath, NAME)
