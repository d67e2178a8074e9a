"""Data availability: a dataset is on disk (ParlAI's build downloads it), or one error says which files go where.

ParlAI's build is never run on a folder that holds files without a ``.built`` of the expected version: it would
delete the folder (``build_data.remove_dir``) or download over the files. Such a folder raises
:class:`DataNotFoundError` instead, with its files left untouched (see :func:`require_data`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

import parlai.core.build_data as build_data


class DataNotFoundError(RuntimeError):
    """A dataset is neither on disk nor downloadable; the message says where to put which files."""


def built_version(folder: str) -> str | None:
    """The version on the second line of ``folder/.built`` (``""`` when it has none), or None without ``.built``."""
    path = os.path.join(folder, ".built")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    return lines[1] if len(lines) > 1 else ""


def _user_files(folder: str, ignore: Iterable[str] = ()) -> list[str]:
    """Files under ``folder`` (relative, sorted) but its ``.built`` and the top-level entries of ``ignore``."""
    ignored = {".built", *ignore}
    found = []
    for root, dirs, names in os.walk(folder):
        rel_root = os.path.relpath(root, folder)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if d not in ignored]
            names = [n for n in names if n not in ignored]
        found += [os.path.normpath(os.path.join(rel_root, n)) for n in names]
    return sorted(found)


def require_data(
    dataset: str,
    folder: str,
    version: str | None,
    files: Iterable[str],
    build: Callable[[], Any],
    how_to: str,
    *,
    build_keeps_files: bool = False,
    other_datasets: Iterable[str] = (),
) -> None:
    """Make sure a dataset is on disk: run ParlAI's ``build`` (its download) when it is not, else raise one error.

    ParlAI's builds delete a folder whose ``.built`` holds another version (``build_data.remove_dir``) and download
    over the files of a folder without ``.built``. So the build only runs when ``folder`` is absent or empty (or
    holds nothing but ``.built``): files placed there by hand are never deleted or overwritten. A folder that holds
    files but no ``.built``, or a ``.built`` of another version, raises :class:`DataNotFoundError` naming the
    version found and the version expected, with the files left untouched.

    Args:
        dataset: Name shown in the error.
        folder: Folder that holds ``.built`` and the files.
        version: Second line of ``.built`` that ParlAI's build checks (None: no ``.built`` is checked).
        files: Paths relative to ``folder`` the teacher reads.
        build: ParlAI's build for the dataset (downloads on a machine with internet).
        how_to: One sentence on where to get the data.
        build_keeps_files: ``build`` never deletes or overwrites files placed by hand (it only writes files it
            derives from them, as WikiToxic's build does from Kaggle's CSV files), so it runs whatever the folder
            holds.
        other_datasets: Top-level entries of ``folder`` that belong to other datasets (dialogue_safety's
            ``wiki-toxic-comments``). Without ``.built`` ParlAI's build downloads beside them, so they do not stop
            it; with a ``.built`` of another version they do, since the build would delete the whole folder.

    Raises:
        DataNotFoundError: The files are missing after the build, the build failed (e.g. offline), or the build was
            not run because the folder holds files and no ``.built`` of ``version``.
    """
    files = list(files)

    def missing() -> list[str]:
        return [f for f in files if not os.path.isfile(os.path.join(folder, f))]

    def is_built() -> bool:
        return version is None or build_data.built(folder, version)

    def error(details: str) -> DataNotFoundError:
        built_line = f"  .built   (two lines: any timestamp, then {version!r})\n" if version else ""
        listing = "".join(f"  {f}\n" for f in files)
        return DataNotFoundError(
            f"{dataset} data is not available under {folder}.\n{details}"
            f"Expected files under {folder}:\n{built_line}{listing}"
            f"{how_to}\nThen point --datapath (-dp) or $PARLAI_DATAPATH at the folder above it, or run once on a "
            f"machine with internet so that ParlAI downloads it."
        )

    if is_built() and not missing():
        return
    found = built_version(folder) if version is not None else None
    if not build_keeps_files:
        if version is not None and is_built():  # ParlAI's build would do nothing: the files are simply not there
            raise error(f"Missing: {', '.join(missing())}\n") from None
        held = _user_files(folder, other_datasets if found is None else ())
        if held:
            shown = ", ".join(held[:5]) + (f", ... ({len(held)} files)" if len(held) > 5 else "")
            if version is None:
                state = "not all the files expected"
            elif found is None:
                state = f"no .built (expected version {version!r})"
            else:
                state = f"its .built holds version {found or '(none)'!r} (expected {version!r})"
            raise error(
                f"The folder holds files ({shown}) but {state}. ParlAI's build would delete or overwrite them, "
                f"so it was not run and the files were left untouched.\n"
                f"Missing: {', '.join(missing()) or '.built (or an old version in it)'}\n"
                f"If these are the right files, write .built as below; else move the folder away so that ParlAI "
                f"downloads it afresh.\n"
            ) from None
    cause = ""
    try:
        build()
    except Exception as err:  # a download fails in many ways; each becomes the one error below
        cause = f"ParlAI's build failed: {type(err).__name__}: {str(err).strip()[:300]}\n"
    if not cause and is_built() and not missing():
        return
    raise error(f"{cause}Missing: {', '.join(missing()) or '.built (or an old version in it)'}\n") from None
