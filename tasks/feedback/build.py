"""Data of the feedback teacher: ParlAI's FITS build (download), with one clear error where it is missing.

Folder and ``.built`` version are ParlAI 1.7.2's (``parlai/tasks/fits/build.py``): ``<dp>/fits/`` (``v0.1``)
holding ``human_model_chats/{train,valid,test}.txt`` (``--fits-task-version v1``), ``human_model_chats_v2/`` (v2)
and ``human_model_chats_unseen/test.txt`` (``--unseen-task True``); each file holds one JSON chat per line.
"""

from __future__ import annotations

import os
from typing import Any

from parlai.tasks.fits import build as fits_build

from tasks.common.data import require_data

VERSION_FOLDERS = {"v1": "human_model_chats", "v2": "human_model_chats_v2"}
UNSEEN_FOLDER = "human_model_chats_unseen"


def data_file(opt: dict[str, Any], datatype: str) -> str:
    """Return the FITS file of ``datatype``'s fold, checking it is on disk (ParlAI's build otherwise)."""
    version = opt.get("fits_task_version") or "v1"
    if version not in VERSION_FOLDERS:
        raise ValueError(f"--fits-task-version must be one of {sorted(VERSION_FOLDERS)}, got {version!r}")
    fold = datatype.split(":")[0]
    if opt.get("unseen_task"):
        if version != "v1" or fold != "test":
            raise ValueError("FITS unseen tasks (--unseen-task True) exist for version v1 and datatype test only")
        sub, splits = UNSEEN_FOLDER, ["test"]
    else:
        sub, splits = VERSION_FOLDERS[version], ["train", "valid", "test"]
    folder = os.path.join(opt["datapath"], "fits")
    require_data(
        "FITS (fits)",
        folder,
        fits_build.VERSION,
        [f"{sub}/{split}.txt" for split in splits],
        lambda: fits_build.build(opt),
        f"To place it by hand: download {fits_build.RESOURCES[0].url} and unpack it into that folder.",
    )
    return os.path.join(folder, sub, f"{fold}.txt")
