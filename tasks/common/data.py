"""Data availability: a dataset is on disk (ParlAI's build downloads it), or one error says which files go where."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import parlai.core.build_data as build_data


class DataNotFoundError(RuntimeError):
    """A dataset is neither on disk nor downloadable; the message says where to put which files."""


def require_data(
    dataset: str, folder: str, version: str | None, files: Iterable[str], build: Callable[[], Any], how_to: str
) -> None:
    """Make sure a dataset is on disk: run ParlAI's ``build`` (its download) when it is not, else raise one error.

    Args:
        dataset: Name shown in the error.
        folder: Folder that holds ``.built`` and the files.
        version: Second line of ``.built`` that ParlAI's build checks (None: no ``.built`` is checked).
        files: Paths relative to ``folder`` the teacher reads.
        build: ParlAI's build for the dataset (downloads on a machine with internet).
        how_to: One sentence on where to get the data.

    Raises:
        DataNotFoundError: The files are missing after the build, or the build failed (e.g. offline).
    """
    files = list(files)

    def missing() -> list[str]:
        return [f for f in files if not os.path.isfile(os.path.join(folder, f))]

    def is_built() -> bool:
        return version is None or build_data.built(folder, version)

    if is_built() and not missing():
        return
    cause = ""
    try:
        build()
    except Exception as err:  # a download fails in many ways; each becomes the one error below
        cause = f"ParlAI's build failed: {type(err).__name__}: {str(err).strip()[:300]}\n"
    if not cause and is_built() and not missing():
        return
    built_line = f"  .built   (two lines: any timestamp, then {version!r})\n" if version else ""
    listing = "".join(f"  {f}\n" for f in files)
    raise DataNotFoundError(
        f"{dataset} data is not available under {folder}.\n{cause}"
        f"Missing: {', '.join(missing()) or '.built (or an old version in it)'}\n"
        f"Expected files under {folder}:\n{built_line}{listing}"
        f"{how_to}\nThen point --datapath (-dp) or $PARLAI_DATAPATH at the folder above it, or run once on a "
        f"machine with internet so that ParlAI downloads it."
    ) from None
