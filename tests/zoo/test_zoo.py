"""The cringe zoo: its table matches the installed ParlAI, offline failures are one clear error, placed models resolve.

No test touches the network: the ``offline`` fixture makes every HTTP GET of ParlAI's ``download`` fail with a
connection error, as it does without internet (ParlAI retries, then raises), with its back-off sleeps skipped.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import types
from pathlib import Path

import parlai.core.build_data as build_data
import pytest
import requests
from tiny_models import NEG_TEXTS, POS_TEXTS, copy_model

from cringe_agent.classifiers import build_classifier
from zoo import CLASSIFIERS, ZooModelMissingError, resolve
from zoo.cringe.build import CLASSIFIER_FILES, PARLAI_MODELS_URL

README = Path(__file__).resolve().parents[2] / "zoo" / "README.md"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """ParlAI's downloads as without a network; returns the list of URLs that were requested."""
    calls: list[str] = []

    class Session:
        def get(self, url: str, **_: object) -> None:
            calls.append(url)
            raise requests.exceptions.ConnectionError(f"Failed to resolve host for {url}")

    @contextlib.contextmanager
    def session():
        yield Session()

    monkeypatch.setattr(build_data, "get_http_session", session)
    monkeypatch.setattr(build_data, "time", types.SimpleNamespace(sleep=lambda seconds: None))
    return calls


def place(datapath: Path, name: str, version: str | None = None, files: tuple[str, ...] | None = None) -> Path:
    """Write placeholder model files and the ``.built`` marker of ``name`` as a user would; return the model dir."""
    entry = CLASSIFIERS[name]
    model_dir = Path(entry.model_dir(str(datapath)))
    model_dir.mkdir(parents=True, exist_ok=True)
    for file_name in entry.files if files is None else files:
        (model_dir / file_name).write_text("placeholder", encoding="utf-8")
    Path(entry.marker(str(datapath))).write_text(f"placed by hand\n{version or entry.version}\n", encoding="utf-8")
    return model_dir


def test_table_is_well_formed_against_installed_parlai():
    assert len(CLASSIFIERS) >= 4
    for name, entry in CLASSIFIERS.items():
        assert entry.name == name and re.fullmatch(r"[a-z0-9_]+", name)
        assert entry.parlai_path.startswith("zoo:") and entry.parlai_path.count("/") >= 2
        parlai_module = importlib.import_module(entry.parlai_module)
        assert callable(getattr(parlai_module, "download", None)), entry.parlai_module
        assert entry.url.startswith(PARLAI_MODELS_URL) and entry.version and entry.judges and entry.inputs
        assert "model" in entry.files and "model.opt" in entry.files
        # the marker's folder holds the model's folder
        assert Path(entry.model_dir("/dp")).is_relative_to(Path(entry.marker("/dp")).parent)
        ours = importlib.import_module(f"zoo.cringe.{name}")
        assert ours.__doc__ and ours.NAME == name and ours.VERSION == entry.version and callable(ours.download)
    assert CLASSIFIERS["safety_single_turn"].files == CLASSIFIER_FILES


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_table_folder_url_and_version_are_parlais(name, tmp_path, offline):
    """ParlAI's own zoo download asks for the table's URL, into its folder, and accepts the table's marker."""
    entry = CLASSIFIERS[name]
    download = importlib.import_module(entry.parlai_module).download
    with pytest.raises(RuntimeError, match="Connection broken"):
        download(str(tmp_path))
    assert set(offline) == {entry.url}
    assert Path(entry.marker(str(tmp_path))).parent.is_dir()
    offline.clear()
    place(tmp_path, name)
    download(str(tmp_path))
    assert offline == []


def test_offline_error_names_model_folder_marker_and_files(tmp_path, offline):
    with pytest.raises(ZooModelMissingError) as info:
        resolve("zoo:cringe/safety_bad_multi_turn", str(tmp_path))
    message = str(info.value)
    model_dir = tmp_path / "models" / "bot_adversarial_dialogue" / "multi_turn"
    assert offline, "ParlAI's download was not tried"
    for expected in (
        "zoo:cringe/safety_bad_multi_turn",
        "zoo:bot_adversarial_dialogue/multi_turn/model",
        "Connection broken",
        f"{model_dir / '.built'}   [missing]",
        "exactly 'v1'",
        f"{model_dir / 'model'}   [missing]",
        f"{model_dir / 'model.opt'}   [missing]",
        f"{model_dir / 'model.dict'}   [missing]",
        CLASSIFIERS["safety_bad_multi_turn"].url,
        f"printf 'placed by hand\\nv1\\n' > {model_dir / '.built'}",
    ):
        assert expected in message, expected
    # one error of ours, not a chained trace from inside ParlAI
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_offline_error_for_a_parlai_path_of_the_table(tmp_path, offline):
    """ParlAI's name of a table model gets the same detailed error (dialogue_safety: marker one folder up)."""
    with pytest.raises(ZooModelMissingError) as info:
        resolve("zoo:dialogue_safety/single_turn/model", str(tmp_path))
    message = str(info.value)
    assert f"{tmp_path / 'models' / 'dialogue_safety' / '.built'}   [missing]" in message
    assert f"{tmp_path / 'models' / 'dialogue_safety' / 'single_turn' / 'model.dict'}   [missing]" in message
    assert "exactly 'v0.5'" in message


def test_offline_error_for_other_parlai_models(tmp_path, offline):
    with pytest.raises(ZooModelMissingError) as info:
        resolve("zoo:sensitive_topics_classifier/model", str(tmp_path))
    message = str(info.value)
    assert str(tmp_path / "models" / "sensitive_topics_classifier" / "model") in message
    assert "parlai.zoo.sensitive_topics_classifier.build" in message and ".built" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_wrong_marker_version_is_reported_and_placed_files_are_kept(tmp_path, offline):
    model_dir = place(tmp_path, "safety_bad_multi_turn", version="v0")
    with pytest.raises(ZooModelMissingError, match=r"\.built marker holds 'v0', not 'v1'"):
        resolve("zoo:cringe/safety_bad_multi_turn", str(tmp_path))
    assert offline == [] and (model_dir / "model").is_file()  # ParlAI's download would have removed the folder


def test_missing_file_under_a_current_marker_is_reported(tmp_path, offline):
    place(tmp_path, "fits_satisfaction", files=("model", "model.opt"))
    with pytest.raises(ZooModelMissingError, match="missing after the download: model.dict") as info:
        resolve("zoo:cringe/fits_satisfaction", str(tmp_path))
    message = str(info.value)
    assert offline == [] and "model.dict   [missing]" in message and "model.opt   [missing]" not in message


def test_unknown_names_and_plain_paths(tmp_path):
    with pytest.raises(ValueError, match="the cringe zoo has: .*safety_single_turn"):
        resolve("zoo:cringe/no_such_model", str(tmp_path))
    with pytest.raises(ValueError, match="names no model"):
        resolve("zoo:cringe", str(tmp_path))
    with pytest.raises(ValueError, match="unknown zoo model 'zoo:no_such_family/model'"):
        resolve("zoo:no_such_family/model", str(tmp_path))
    assert resolve("/some/model/file", str(tmp_path)) == "/some/model/file"
    assert resolve("relative/model") == "relative/model"


def test_readme_lists_every_classifier():
    text = README.read_text(encoding="utf-8")
    for name, entry in CLASSIFIERS.items():
        assert re.search(rf"^\| `{name}` \| `{re.escape(entry.parlai_path)}` \|", text, re.M), name


@pytest.mark.integration
def test_placed_model_resolves_without_download_and_scores(tmp_path, offline, tiny_classifier):
    """A tiny transformer/classifier placed at the BAD model's folder with its marker is found and used.

    The placed files are a copy of the session's shared tiny classifier (its .opt rewritten to name the copy)."""
    datapath = tmp_path / "dp"
    entry = CLASSIFIERS["safety_bad_multi_turn"]
    copy_model(tiny_classifier, entry.model_file(str(datapath)))
    assert sorted(p.name for p in Path(entry.model_dir(str(datapath))).iterdir()) == sorted(entry.files)
    Path(entry.marker(str(datapath))).write_text("placed by hand\nv1\n", encoding="utf-8")

    resolved = resolve("zoo:cringe/safety_bad_multi_turn", str(datapath))
    assert resolved == str(datapath / "models" / "bot_adversarial_dialogue" / "multi_turn" / "model")
    assert resolve("zoo:bot_adversarial_dialogue/multi_turn/model", str(datapath)) == resolved
    assert resolve("zoo:cringe/safety_bad_multi_turn/model.dict", str(datapath)) == resolved + ".dict"
    assert offline == []

    probs = build_classifier("parlai:" + resolved)(POS_TEXTS + NEG_TEXTS)
    assert max(probs[:5]) < 0.5 < min(probs[5:])
    assert offline == []


@pytest.mark.integration
def test_pretrained_generator_entry_builds_a_model_file_offline(tmp_path: Path) -> None:
    """``zoo:cringe/smollm2_135m_instruct``: a CRINGE agent model file over the wheel's SmolLM2, nothing downloaded."""
    pytest.importorskip("transformers")
    from cringe_agent.pretrained import PretrainedModelError, check

    try:
        check("smollm2-135m-instruct")
    except PretrainedModelError as err:
        pytest.skip(str(err))
    from parlai.core.agents import create_agent_from_model_file

    model_file = resolve("zoo:cringe/smollm2_135m_instruct", str(tmp_path))
    assert model_file == str(tmp_path / "models" / "cringe" / "smollm2_135m_instruct" / "model")
    stamp = Path(model_file).stat().st_mtime_ns
    assert resolve("zoo:cringe/smollm2_135m_instruct", str(tmp_path)) == model_file  # built once
    assert Path(model_file).stat().st_mtime_ns == stamp
    agent = create_agent_from_model_file(model_file, {"inference": "greedy", "label_truncate": 12})
    assert type(agent).__name__ == "CringeHfCausalAgent"
    agent.observe({"text": "What is the capital of France?", "episode_done": True})
    assert "Paris" in agent.act()["text"]
