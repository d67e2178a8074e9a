"""The ``cringe`` zoo family: ParlAI's evaluation classifiers under short names, downloaded by ParlAI's own code.

Every entry of :data:`CLASSIFIERS` is an alias of a model of ParlAI 1.7.2's zoo (``parlai/zoo/<family>/<model>.py``
and ``parlai/zoo/model_list.py``): the files stay where ParlAI puts them, ``<datapath>/models/...``, with the
``.built`` marker its ``download_models`` checks (the second line must equal the version string). ParlAI's zoo has
no contradiction (DECODE) classifier; the paper's own pos/neg judges are trained by ``projects/classifiers/``.

Nothing here imports ParlAI at module level; :func:`download` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

#: Where ParlAI's ``download_models`` fetches zoo archives from.
PARLAI_MODELS_URL = "http://parl.ai/downloads/_models/"
#: The files a ``transformer/classifier`` model needs next to each other.
CLASSIFIER_FILES = ("model", "model.opt", "model.dict")


class ZooModelMissingError(FileNotFoundError):
    """A zoo model is neither on disk nor downloadable; the message says which files go where."""


@dataclass(frozen=True)
class ZooClassifier:
    """One evaluation classifier of ParlAI's zoo.

    Attributes:
        name: Short name, ``zoo:cringe/<name>``.
        parlai_path: ParlAI's zoo path of the model file (``zoo:<family>/<model>/model``).
        built_dir: Folder under ``<datapath>/models`` holding the ``.built`` marker ParlAI's download checks.
        version: The second line of that marker, as hard-coded in the ParlAI zoo module's ``download``.
        archive: What ParlAI downloads (relative to :data:`PARLAI_MODELS_URL`) and unpacks into ``built_dir``.
        judges: What the classifier decides, and its classes.
        inputs: The text the model was trained to read.
        agent: The ParlAI agent of the model file.
        files: Files that must sit in the model's folder.
    """

    name: str
    parlai_path: str
    built_dir: str
    version: str
    archive: str
    judges: str
    inputs: str
    agent: str = "transformer/classifier"
    files: tuple[str, ...] = CLASSIFIER_FILES

    @property
    def parlai_module(self) -> str:
        """The ParlAI zoo module whose ``download(datapath)`` fetches the model."""
        return "parlai.zoo." + os.path.dirname(self.parlai_path[len("zoo:") :]).replace("/", ".")

    @property
    def url(self) -> str:
        """The archive's full URL."""
        return PARLAI_MODELS_URL + self.archive

    def model_dir(self, datapath: str) -> str:
        """The folder of the model file and its ``.opt``/``.dict``."""
        return os.path.join(datapath, "models", os.path.dirname(self.parlai_path[len("zoo:") :]))

    def model_file(self, datapath: str) -> str:
        """The absolute path of the model file (what ``modelzoo_path`` returns)."""
        return os.path.join(datapath, "models", self.parlai_path[len("zoo:") :])

    def marker(self, datapath: str) -> str:
        """The ``.built`` marker ParlAI's download checks."""
        return os.path.join(datapath, "models", self.built_dir, ".built")


_BBF = "Build-it-Break-it-Fix-it (dialogue_safety) standard and adversarial sets and Wikipedia Toxic Comments"
_OK = "classes __ok__/__notok__"

CLASSIFIERS: dict[str, ZooClassifier] = {
    c.name: c
    for c in (
        ZooClassifier(
            name="safety_single_turn",
            parlai_path="zoo:dialogue_safety/single_turn/model",
            built_dir="dialogue_safety",
            version="v0.5",
            archive="dialogue_safety/safety_models_v1.tgz",
            judges=f"is an utterance offensive ({_OK}); trained on the {_BBF}",
            inputs="one utterance alone",
        ),
        ZooClassifier(
            name="safety_multi_turn",
            parlai_path="zoo:dialogue_safety/multi_turn/model",
            built_dir="dialogue_safety",
            version="v0.5",
            archive="dialogue_safety/safety_models_v1.tgz",
            judges=f"is an utterance offensive in its dialogue ({_OK}); BBF multi-turn set plus the {_BBF}",
            inputs="the dialogue context and the utterance",
            agent="bert_classifier (needs pytorch-pretrained-bert and zoo:bert)",
            files=("model", "model.opt"),
        ),
        ZooClassifier(
            name="safety_bad_multi_turn",
            parlai_path="zoo:bot_adversarial_dialogue/multi_turn/model",
            built_dir="bot_adversarial_dialogue/multi_turn",
            version="v1",
            archive="bot_adversarial_dialogue/multi_turn/models_v1.tar.gz",
            judges=f"is an utterance unsafe ({_OK}); Bot-Adversarial Dialogue (history truncated to 4 turns) plus the "
            f"{_BBF}",
            inputs="up to 4 turns of context and the utterance, or the utterance alone",
        ),
        ZooClassifier(
            name="safety_bad_multi_turn_v0",
            parlai_path="zoo:bot_adversarial_dialogue/multi_turn_v0/model",
            built_dir="bot_adversarial_dialogue/multi_turn_v0",
            version="v1",
            archive="bot_adversarial_dialogue/multi_turn_v0/models_v1.tar.gz",
            judges=f"as safety_bad_multi_turn, trained on the BAD dialogues filtered to 4 turns ({_OK})",
            inputs="up to 4 turns of context and the utterance, or the utterance alone",
        ),
        ZooClassifier(
            name="fits_satisfaction",
            parlai_path="zoo:fits/response_satisfaction/model",
            built_dir="fits/response_satisfaction",
            version="v0.1",
            archive="fits/response_satisfaction/model_v0.1.tar.gz",
            judges=f"does a bot reply satisfy the user ({_OK}); FITS human feedback",
            inputs="the dialogue context and the bot reply, one per line",
        ),
    )
}


def find(parlai_path: str) -> ZooClassifier | None:
    """The table entry whose model folder holds ``parlai_path`` (e.g. ``zoo:fits/response_satisfaction/model.opt``)."""
    folder = os.path.dirname(parlai_path)
    return next((c for c in CLASSIFIERS.values() if os.path.dirname(c.parlai_path) == folder), None)


def marker_state(entry: ZooClassifier, datapath: str) -> str | None:
    """``None`` when the ``.built`` marker holds the right version, else what is wrong with it."""
    path = entry.marker(datapath)
    if not os.path.isfile(path):
        return "missing"
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if len(lines) > 1 and lines[1] == entry.version:
        return None
    found = repr(lines[1]) if len(lines) > 1 else "no second line"
    return f"holds {found}, not {entry.version!r}"


def missing_files(entry: ZooClassifier, datapath: str) -> list[str]:
    """The model files (of ``entry.files``) not on disk."""
    return [f for f in entry.files if not os.path.isfile(os.path.join(entry.model_dir(datapath), f))]


def missing_error(entry: ZooClassifier, datapath: str, cause: str) -> ZooModelMissingError:
    """The one error for a model that is not in place: the folder, each file with its state, how to place them."""
    marker = entry.marker(datapath)
    state = marker_state(entry, datapath)
    model_dir = entry.model_dir(datapath)
    absent = set(missing_files(entry, datapath))
    listing = "".join(f"  {os.path.join(model_dir, f)}{'   [missing]' if f in absent else ''}\n" for f in entry.files)
    return ZooModelMissingError(
        f"zoo model zoo:cringe/{entry.name} (ParlAI {entry.parlai_path}, {entry.agent}) is not available: {cause}\n"
        f"Expected files:\n"
        f"  {marker}   [{state or 'ok'}]: two lines, any timestamp then exactly {entry.version!r} "
        f"(ParlAI's download_models checks line 2)\n{listing}"
        f"To place them offline: fetch {entry.url} on a machine with internet, unpack it into "
        f"{os.path.dirname(marker)}, then write the marker:\n"
        f"  printf 'placed by hand\\n{entry.version}\\n' > {marker}\n"
        f"Use that datapath with -dp/--datapath or $PARLAI_DATAPATH, or run once with internet so that ParlAI "
        f"downloads the model."
    )


def download(datapath: str, name: str) -> None:
    """Fetch classifier ``name`` with ParlAI's zoo download (a no-op when its ``.built`` marker is current).

    Raises:
        KeyError: ``name`` is not in :data:`CLASSIFIERS`.
        ZooModelMissingError: The download failed (e.g. offline), a marker of another version sits in the folder
            (ParlAI would delete the folder to download again), or files are missing after the download.
    """
    from parlai.core.build_data import modelzoo_path

    entry = CLASSIFIERS[name]
    state = marker_state(entry, datapath)
    if state not in (None, "missing"):
        raise missing_error(
            entry,
            datapath,
            f"its .built marker {state}; ParlAI would delete {os.path.dirname(entry.marker(datapath))} to download "
            "again. Fix the marker if the files are that release, or remove the folder to download.",
        )
    cause = ""
    try:
        modelzoo_path(datapath, entry.parlai_path)
    except Exception as err:  # offline, a download fails in many ways; each becomes the one error below
        cause = f"ParlAI's download failed ({type(err).__name__}: {str(err).strip()[:300]})."
    missing = missing_files(entry, datapath)
    if cause or missing or marker_state(entry, datapath):
        raise missing_error(entry, datapath, cause or f"missing after the download: {', '.join(missing)}.") from None
