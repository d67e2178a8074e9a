"""Label mutators: cringe_pos_only / cringe_neg_only filters, cringe_relabel conventions, and the flag-name lint."""

from __future__ import annotations

import inspect
import math
import re
import sys

import pytest
from parlai.core.message import Message
from parlai.core.mutators import MUTATOR_REGISTRY
from parlai.core.opt import Opt
from parlai.core.params import ParlaiParser

import cringe_agent.mutators  # noqa: F401  (registers every cringe_* mutator)
from cringe_agent.mutators.labels import NegOnlyMutator, PosOnlyMutator, RelabelMutator, polarity_of


def _msg(**fields) -> Message:
    return Message({"episode_done": True, **fields})


def _run(mutator, messages: list[Message]) -> list[Message]:
    return list(mutator(iter(messages)))


MIXED = [
    _msg(text="hi", labels=["hello there"], classifier_label="pos"),  # generator convention
    _msg(text="hi", labels=["go away"], classifier_label="neg"),
    _msg(text="you are great", labels=["__ok__"]),  # ParlAI's classifier convention
    _msg(text="you idiot", labels=["__notok__"]),
    _msg(text="nice", labels=["pos"]),
]


def test_pos_only_keeps_exactly_the_positives():
    out = _run(PosOnlyMutator(Opt()), MIXED)
    assert [m["labels"][0] for m in out] == ["hello there", "__ok__", "pos"]
    assert all(m["episode_done"] for m in out)


def test_neg_only_keeps_exactly_the_negatives():
    out = _run(NegOnlyMutator(Opt()), MIXED)
    assert [m["labels"][0] for m in out] == ["go away", "__notok__"]


def test_filters_keep_the_rest_of_a_multi_message_episode():
    episode = [
        _msg(text="a", labels=["x"], classifier_label="neg", episode_done=False),
        _msg(text="b", labels=["y"], classifier_label="pos", episode_done=False),
        _msg(text="c", labels=["z"], classifier_label="pos", episode_done=True),
    ]
    out = _run(PosOnlyMutator(Opt()), episode)
    assert [m["text"] for m in out] == ["b", "c"]
    assert [m["episode_done"] for m in out] == [False, True]


def test_filters_refuse_a_message_without_usable_label():
    with pytest.raises(ValueError, match="not a class name"):
        _run(PosOnlyMutator(Opt()), [_msg(text="hi", labels=["hello there"])])
    with pytest.raises(ValueError, match="unknown classifier_label 'maybe'"):
        _run(NegOnlyMutator(Opt()), [_msg(text="hi", labels=["x"], classifier_label="maybe")])


@pytest.mark.parametrize(
    ("label", "expected"),
    [("__ok__", "pos"), ("__notok__", "neg"), ("safe", "pos"), ("unsafe", "neg"), ("contradiction", "neg")],
)
def test_relabel_class_labels_rewrites_label_and_field(label, expected):
    (out,) = _run(RelabelMutator(Opt()), [_msg(text="some text", labels=[label])])
    assert out["labels"] == [expected]
    assert out["classifier_label"] == expected
    assert out["text"] == "some text"


def test_relabel_field_leaves_the_reply_label_alone():
    (out,) = _run(RelabelMutator(Opt()), [_msg(text="ctx", labels=["safe"], classifier_label="unsafe")])
    assert out["classifier_label"] == "neg"
    assert out["labels"] == ["safe"]  # a reply that happens to read "safe" is not a class here


def test_relabel_eval_labels():
    (out,) = _run(RelabelMutator(Opt()), [_msg(text="t", eval_labels=["__notok__"])])
    assert out["eval_labels"] == ["neg"] and out["classifier_label"] == "neg"


@pytest.mark.parametrize(
    ("metrics", "threshold", "expected"),
    [
        ({"f1": 0.0}, 0.0, "neg"),
        ({"f1": 0.25}, 0.0, "pos"),
        ({"f1": 0.25}, 0.3, "neg"),
        ({"classifier_accuracy": 1.0, "f1": 0.0}, 0.0, "pos"),
        ({"classifier_accuracy": 0.0, "f1": 0.9}, 0.0, "neg"),
    ],
)
def test_relabel_from_world_log_metrics(metrics, threshold, expected):
    opt = Opt({"cringe_relabel_f1_threshold": threshold})
    direct = _msg(text="ctx", labels=["a model reply"], metrics=metrics)
    nested = _msg(text="ctx", labels=["a model reply"], y_turn={"text": "a model reply", "metrics": metrics})
    for message in (direct, nested):
        (out,) = _run(RelabelMutator(opt), [message])
        assert out["classifier_label"] == expected
        assert out["labels"] == ["a model reply"]


def test_relabel_source_flag_restricts_where_labels_come_from():
    message = _msg(text="ctx", labels=["__ok__"], metrics={"f1": 0.0})
    (out,) = _run(RelabelMutator(Opt({"cringe_relabel_from": "metrics"})), [message])
    assert out["classifier_label"] == "neg" and out["labels"] == ["__ok__"]
    with pytest.raises(ValueError, match="no usable label"):
        _run(RelabelMutator(Opt({"cringe_relabel_from": "classifier_label"})), [message])
    with pytest.raises(ValueError, match="cringe_relabel_from"):
        RelabelMutator(Opt({"cringe_relabel_from": "label"}))


def test_relabel_refuses_a_message_without_usable_label():
    with pytest.raises(ValueError, match="no usable label"):
        _run(RelabelMutator(Opt()), [_msg(text="hi", labels=["hello"], classifier_label="none")])


@pytest.mark.parametrize("threshold", [math.nan, math.inf, -0.1, 1.5, True, "nan", "inf", "high"])
def test_relabel_f1_threshold_must_be_a_finite_f1(threshold):
    with pytest.raises(ValueError, match=r"--cringe-relabel-f1-threshold must be a finite number in \[0, 1\]"):
        RelabelMutator(Opt({"cringe_relabel_f1_threshold": threshold}))


def test_relabel_flags_from_the_command_line_are_checked():
    parser = ParlaiParser(False, False)
    RelabelMutator.add_cmdline_args(parser, Opt())
    opt = parser.parse_args(["--cringe-relabel-f1-threshold", "nan"])
    with pytest.raises(ValueError, match="--cringe-relabel-f1-threshold"):
        RelabelMutator(opt)


def test_relabel_options_from_a_task_string_and_none_take_defaults():
    mutator = RelabelMutator(Opt({"cringe_relabel_from": None, "cringe_relabel_f1_threshold": "0.25"}))
    assert (mutator.source, mutator.f1_threshold) == ("auto", 0.25)
    assert RelabelMutator(Opt({"cringe_relabel_f1_threshold": None})).f1_threshold == 0.0
    with pytest.raises(ValueError, match=r"--cringe-relabel-from \(cringe_relabel_from\) must be one of auto, "):
        RelabelMutator(Opt({"cringe_relabel_from": ""}))


@pytest.mark.parametrize("value", [math.nan, "n/a", None, True])
def test_relabel_refuses_a_metric_that_is_not_a_finite_number(value):
    message = _msg(text="ctx", labels=["a model reply"], metrics={"f1": value})
    if value is None:  # an absent metric: no label from metrics
        with pytest.raises(ValueError, match="no usable label"):
            _run(RelabelMutator(Opt()), [message])
        return
    with pytest.raises(ValueError, match=r"metric 'f1' must be a finite number"):
        _run(RelabelMutator(Opt()), [message])


def test_polarity_prefers_the_field_over_the_label():
    assert polarity_of({"labels": ["__ok__"], "classifier_label": "neg"}) == "neg"
    assert polarity_of({"eval_labels": ["__notok__"]}) == "neg"


def _cringe_mutators() -> dict[str, type]:
    return {name: cls for name, cls in MUTATOR_REGISTRY.items() if name.startswith("cringe_")}


def test_every_label_mutator_is_registered():
    assert {"cringe_pos_only", "cringe_neg_only", "cringe_relabel"} <= set(_cringe_mutators())


class _RecordingOpt(Opt):
    """An opt that remembers every key looked up in it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reads: set[str] = set()

    def get(self, key, default=None):
        self.reads.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.reads.add(key)
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self.reads.add(key)
        return super().__contains__(key)


# reads in the source: opt.get("key"...), opt["key"], or a module constant holding the key
_READ = re.compile(r"""opt(?:\.get\(|\[)\s*(?:["']([a-z0-9_]+)["']|([A-Z][A-Z0-9_]*))""")


def _dests(cls: type) -> set[str]:
    parser = ParlaiParser(False, False)
    before = {action.dest for action in parser._actions}
    cls.add_cmdline_args(parser, Opt())
    return {action.dest for action in parser._actions} - before


def _reads(cls: type) -> set[str]:
    """Keys the mutator's constructor looks up (run with an empty opt) plus the keys its module's source reads."""
    opt = _RecordingOpt({"datatype": "valid"})
    try:
        cls(opt)
    except Exception:  # a constructor may refuse an empty opt; the keys it looked up before that still count
        pass
    module = sys.modules[cls.__module__]
    found = _READ.findall(inspect.getsource(module))
    return opt.reads | {literal or getattr(module, constant, "") for literal, constant in found}


@pytest.mark.parametrize("name", sorted(_cringe_mutators()))
def test_each_flag_is_read_by_the_name_it_defines(name):
    """Lint: every dest a mutator's add_cmdline_args defines is read from opt by that name, and no other.

    Mutators named in a -t string get no argparse defaults, so a read under another name is silently a default
    (the bug of ParlAI's flip_labels: flag --classification-label-to-mutate, read as classification_label_to_flip).
    """
    cls = _cringe_mutators()[name]
    defined = _dests(cls)
    reads = _reads(cls)
    same_module = [other for other in _cringe_mutators().values() if other.__module__ == cls.__module__]
    defined_in_module = set().union(*(_dests(other) for other in same_module))
    undefined = {key for key in reads if key.startswith("cringe_")} - defined_in_module
    assert defined <= reads, f"{name}: flags defined but never read under that name: {sorted(defined - reads)}"
    assert not undefined, f"{cls.__module__}: opt keys read but defined by no mutator there: {sorted(undefined)}"


def test_the_lint_catches_a_misnamed_read():
    class Misnamed(RelabelMutator):
        def __init__(self, opt: Opt) -> None:
            self.source = opt.get("cringe_relabel_source", "auto")

    reads = _reads(Misnamed)
    assert "cringe_relabel_source" in reads
    assert _dests(Misnamed) - reads == {"cringe_relabel_from", "cringe_relabel_f1_threshold"}
