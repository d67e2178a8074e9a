"""Data of the safety teachers: ParlAI's own builds (downloads), with one clear error where the data is missing.

Folders and ``.built`` versions are ParlAI 1.7.2's (``parlai/tasks/{bot_adversarial_dialogue,dialogue_safety}``):

- BAD: ``<dp>/bot_adversarial_dialogue/dialogue_datasets/`` (``v0.2``), text files under
  ``bot_adversarial_dialogue_datasets_with_persona/``.
- dialogue_safety: ``<dp>/dialogue_safety/`` (``v1.0``): ``single_turn_safety.json``, ``multi_turn_safety.json``.
- WikiToxic: ``<dp>/dialogue_safety/wiki-toxic-comments/`` (``v1.0``): Kaggle's ``train.csv`` (never downloaded) and
  the two JSON files ParlAI builds from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from parlai.tasks.bot_adversarial_dialogue import build as bad_build
from parlai.tasks.dialogue_safety import build as safety_build

from tasks.common.data import require_data

SPLITS = ("train", "valid", "test")
BAD_SUBFOLDER = "bot_adversarial_dialogue_datasets_with_persona"
# parlai/tasks/dialogue_safety/build.py and agents.py (WikiToxicCommentsTeacher.build) hard-code these versions.
DIALOGUE_SAFETY_VERSION = "v1.0"
WIKI_TOXIC_VERSION = "v1.0"
WIKI_TOXIC_SUBFOLDER = "wiki-toxic-comments"  # inside dialogue_safety/ (WikiToxicCommentsTeacher.data_path)
WIKI_TOXIC_PARTITION = "wiki-toxic-comments-partition.json"
WIKI_TOXIC_DEFAULT = "wiki-toxic-comments-default.json"
KAGGLE_URL = "https://www.kaggle.com/c/jigsaw-toxic-comment-classification-challenge/data"


def ensure_bad(opt: dict[str, Any]) -> str:
    """Make sure the BAD dialogue data is on disk; return the file of ``opt['datatype']``'s fold."""
    folder = bad_build.get_adversarial_dialogue_folder(opt["datapath"])
    resource = bad_build.BOT_ADVERSARIAL_DIALOGUE_DATASETS_RESOURCES[0]
    require_data(
        "Bot-Adversarial Dialogue (bot_adversarial_dialogue)",
        folder,
        bad_build.BOT_ADVERSARIAL_DIALOGUE_DATASETS_VERSION,
        [f"{BAD_SUBFOLDER}/{split}.txt" for split in SPLITS],
        lambda: bad_build.build_dialogue_datasets(opt),
        f"To place it by hand: download {resource.url} and unpack it into that folder.",
    )
    return os.path.join(folder, BAD_SUBFOLDER, f"{opt['datatype'].split(':')[0]}.txt")


def ensure_dialogue_safety(datapath: str, file_name: str) -> str:
    """Make sure the dialogue_safety data (standard/adversarial/multi-turn) is on disk; return ``file_name``'s path."""
    folder = os.path.join(datapath, "dialogue_safety")
    urls = " and ".join(resource.url for resource in safety_build.RESOURCES)
    require_data(
        "dialogue_safety (Build it Break it Fix it)",
        folder,
        DIALOGUE_SAFETY_VERSION,
        [resource.file_name for resource in safety_build.RESOURCES],
        lambda: safety_build.build(datapath),
        f"To place it by hand: download {urls} into that folder.",
        other_datasets=[WIKI_TOXIC_SUBFOLDER],  # another dataset's folder: its files do not stop the build
    )
    return os.path.join(folder, file_name)


def ensure_wiki_toxic(folder: str, file_name: str, build: Callable[[], Any]) -> str:
    """Make sure the WikiToxic JSON built by ParlAI is on disk (``build`` is ParlAI's, from Kaggle's CSV files)."""
    require_data(
        "WikiToxic comments (dialogue_safety:wikiToxicComments)",
        folder,
        WIKI_TOXIC_VERSION,
        [file_name],
        build,
        f"This data cannot be downloaded automatically: accept the rules at {KAGGLE_URL}, put train.csv, test.csv "
        f"and test_labels.csv into that folder, and the teacher builds {WIKI_TOXIC_PARTITION} and "
        f"{WIKI_TOXIC_DEFAULT} from them (or place those two JSON files, a train.csv and .built yourself).",
        build_keeps_files=True,  # ParlAI's WikiToxic build only reads the CSV files and writes the two JSON files
    )
    return os.path.join(folder, file_name)
