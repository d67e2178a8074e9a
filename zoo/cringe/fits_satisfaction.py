"""ParlAI's FITS response-satisfaction classifier (zoo:fits/response_satisfaction/model)."""

from __future__ import annotations

from zoo.cringe.build import CLASSIFIERS
from zoo.cringe.build import download as download_classifier

NAME = "fits_satisfaction"
VERSION = CLASSIFIERS[NAME].version


def download(datapath: str) -> None:
    """Fetch the model into ``<datapath>/models`` with ParlAI's zoo download (see ``zoo/cringe/build.py``)."""
    download_classifier(datapath, NAME)
