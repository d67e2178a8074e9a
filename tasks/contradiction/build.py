"""Data of the contradiction teacher: ParlAI's DECODE build (download), with one clear error where it is missing.

Folder and ``.built`` version are ParlAI 1.7.2's (``parlai/tasks/decode/build.py``): ``<dp>/decode/`` (``v0.1.1``)
holding ``decode_v0.1/{train,dev,test,human-bot,a2t,rct}.jsonl``.
"""

from __future__ import annotations

import os
from typing import Any

from parlai.tasks.decode import build as decode_build

from tasks.common.data import require_data

# File of each fold (parlai/tasks/decode/agents.py): valid reads dev, test reads --test_type (vanilla = test).
FOLD_FILES = {"train": "train", "valid": "dev"}
TEST_TYPES = {"vanilla": "test", "human-bot": "human-bot", "a2t": "a2t", "rct": "rct"}


def data_file(opt: dict[str, Any]) -> str:
    """Return the DECODE file of ``opt['datatype']``'s fold, checking it is on disk (ParlAI's build otherwise)."""
    fold = opt["datatype"].split(":")[0]
    test_type = opt.get("test_type") or "vanilla"
    if fold == "test" and test_type not in TEST_TYPES:
        raise ValueError(f"--test_type must be one of {sorted(TEST_TYPES)}, got {test_type!r}")
    name = FOLD_FILES.get(fold) or TEST_TYPES[test_type]
    folder = os.path.join(opt["datapath"], decode_build.DECODE)
    sub = decode_build.DECODE_PREFIX + decode_build.DECODE_FOLDER_VERSION
    require_data(
        "DECODE (decode)",
        folder,
        decode_build.DECODE_VERSION,
        [f"{sub}/{split}.jsonl" for split in ("train", "dev", *TEST_TYPES.values())],
        lambda: decode_build.build(opt),
        f"To place it by hand: download {decode_build.RESOURCES[0].url} and unzip it into that folder.",
    )
    return os.path.join(folder, sub, f"{name}.jsonl")
