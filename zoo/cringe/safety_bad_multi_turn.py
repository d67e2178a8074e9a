"""ParlAI's Bot-Adversarial-Dialogue safety classifier (zoo:bot_adversarial_dialogue/multi_turn/model)."""

from __future__ import annotations

from zoo.cringe.build import CLASSIFIERS
from zoo.cringe.build import download as download_classifier

NAME = "safety_bad_multi_turn"
VERSION = CLASSIFIERS[NAME].version


def download(datapath: str) -> None:
    """Fetch the model into ``<datapath>/models`` with ParlAI's zoo download (see ``zoo/cringe/build.py``)."""
    download_classifier(datapath, NAME)
