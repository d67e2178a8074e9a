"""ParlAI's single-turn safety classifier (zoo:dialogue_safety/single_turn/model): is an utterance offensive."""

from __future__ import annotations

from zoo.cringe.build import CLASSIFIERS
from zoo.cringe.build import download as download_classifier

NAME = "safety_single_turn"
VERSION = CLASSIFIERS[NAME].version


def download(datapath: str) -> None:
    """Fetch the model into ``<datapath>/models`` with ParlAI's zoo download (see ``zoo/cringe/build.py``)."""
    download_classifier(datapath, NAME)
