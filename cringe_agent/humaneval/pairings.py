"""ACUTE-Eval pairings: validation of the pairings jsonl format, and pairs built from logs (Fast-ACUTE style).

A pairing is one line of ParlAI's pairings jsonl: ``is_onboarding``, ``speakers_to_eval`` (two names),
``dialogue_dicts`` (two ``{speakers, dialogue: [{id, text}]}``), ``dialogue_ids`` (two ints, non-onboarding) and
``correct_answer`` (onboarding only). Logs are ParlAI Conversations jsonl (e.g. ``parlai self_chat`` output) or this
app's model-chat export.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any

from cringe_agent.jsonl import read_jsonl

HUMAN_EVALUATOR = "human_evaluator"
OTHER_SPEAKER = "other_speaker"
PAIRING_SEED = 42


def validate_pairing(pairing: Any, where: str) -> dict[str, Any]:
    """Check one pairing against ParlAI's loader (acute_eval_runner.py); return it.

    Raises:
        ValueError: A field is missing or malformed; the message starts with ``where`` and names the field.
    """
    if not isinstance(pairing, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(pairing).__name__}")

    def bad(field: str, problem: str) -> ValueError:
        return ValueError(f"{where}: field {field!r}: {problem}")

    if not isinstance(pairing.get("is_onboarding"), bool):
        raise bad("is_onboarding", "required, true or false")
    names = pairing.get("speakers_to_eval")
    if not (isinstance(names, list) and len(names) == 2 and all(isinstance(n, str) and n for n in names)):
        raise bad("speakers_to_eval", "must be a list of two speaker names")
    if names[0] == names[1]:
        raise bad("speakers_to_eval", f"the two names must differ, got {names[0]!r} twice")
    dialogues = pairing.get("dialogue_dicts")
    if not (isinstance(dialogues, list) and len(dialogues) == 2):
        raise bad("dialogue_dicts", "must be a list of two dialogues")
    for side, (name, d) in enumerate(zip(names, dialogues)):
        field = f"dialogue_dicts[{side}]"
        if (
            not isinstance(d, dict)
            or not isinstance(d.get("speakers"), list)
            or not isinstance(d.get("dialogue"), list)
        ):
            raise bad(field, "must be an object with lists 'speakers' and 'dialogue'")
        if name not in d["speakers"] or names[1 - side] in d["speakers"]:
            raise bad(field, f"its 'speakers' must hold {name!r} and not {names[1 - side]!r}")
        for t, turn in enumerate(d["dialogue"]):
            if not (isinstance(turn, dict) and isinstance(turn.get("id"), str) and isinstance(turn.get("text"), str)):
                raise bad(f"{field}.dialogue[{t}]", "must be an object with string 'id' and 'text'")
        if not any(turn["id"] == name for turn in d["dialogue"]):
            raise bad(field, f"no turn of {name!r} to evaluate")
    if pairing["is_onboarding"]:
        if pairing.get("correct_answer") not in names:
            raise bad("correct_answer", f"onboarding pairs need one of {names}, got {pairing.get('correct_answer')!r}")
    else:
        ids = pairing.get("dialogue_ids")
        if not (isinstance(ids, list) and len(ids) == 2 and all(type(i) is int for i in ids)):
            raise bad("dialogue_ids", "non-onboarding pairs need a list of two ints")
    return pairing


def read_pairings(path: str) -> list[dict[str, Any]]:
    """A pairings jsonl, validated line by line (errors name the file, line and field)."""
    rows = read_jsonl(path, check=lambda row: validate_pairing(row, "pairing") and None)
    if not rows:
        raise ValueError(f"{path}: no pairings")
    return rows


def _flatten(dialog: Any, where: str) -> list[dict[str, Any]]:
    """Turns of a log's ``dialog``: Conversations' ``[[act, act], ...]`` or model chat's flat list of turns."""
    if not isinstance(dialog, list) or not dialog:
        raise ValueError(f"{where}: field 'dialog' must be a non-empty list")
    turns = []
    for entry in dialog:
        for act in entry if isinstance(entry, list) else [entry]:
            if not isinstance(act, dict) or not isinstance(act.get("text"), str):
                raise ValueError(f"{where}: field 'dialog': every turn must be an object with a string 'text'")
            turns.append(act)
    return turns


def dialogue_from_log(row: Mapping[str, Any], model: str, where: str, speaker_idx: int = 0) -> dict[str, Any]:
    """A ``{speakers, dialogue}`` dict of one log line, with the evaluated side renamed to ``model``.

    Model-chat rows (turns with ``agent_idx``): bot turns (``agent_idx`` 1) become ``model``, human ones
    ``human_evaluator``. Conversations rows (self chat): the turns of the ``speaker_idx``-th speaker become ``model``,
    the others ``other_speaker`` (Fast-ACUTE's renaming).
    """
    turns = _flatten(row.get("dialog"), where)
    if all("agent_idx" in t for t in turns):
        dialogue = [{"id": model if t["agent_idx"] == 1 else HUMAN_EVALUATOR, "text": t["text"]} for t in turns]
        return {"speakers": [HUMAN_EVALUATOR, model], "dialogue": dialogue}
    speakers = list(dict.fromkeys(str(t.get("id")) for t in turns))
    if speaker_idx >= len(speakers):
        raise ValueError(f"{where}: speaker_idx {speaker_idx} but the dialog has speakers {speakers}")
    evaluated = speakers[speaker_idx]
    dialogue = [{"id": model if t.get("id") == evaluated else OTHER_SPEAKER, "text": t["text"]} for t in turns]
    return {"speakers": [model, OTHER_SPEAKER], "dialogue": dialogue}


def pairs_from_logs(
    logs: Mapping[str, str],
    *,
    max_pairs_per_matchup: int | None = None,
    speaker_idx: int = 0,
) -> list[dict[str, Any]]:
    """Non-onboarding pairings for every matchup of the models in ``logs`` (model name -> jsonl path).

    The i-th conversation of one model is paired with the i-th of the other; dialogue ids number the conversations of
    all logs in order. ``speakers_to_eval`` is the sorted pair of names.
    """
    if len(logs) < 2:
        raise ValueError(f"logs: need at least two models to compare, got {sorted(logs)}")
    dialogues: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    next_id = 0
    for model in sorted(logs):
        path = logs[model]
        rows = read_jsonl(path, required={"dialog": list})
        if not rows:
            raise ValueError(f"{path}: no conversations")
        dialogues[model] = []
        for line, row in enumerate(rows, start=1):
            dialogues[model].append((next_id, dialogue_from_log(row, model, f"{path}, line {line}", speaker_idx)))
            next_id += 1
    pairings = []
    for a, b in itertools.combinations(sorted(dialogues), 2):
        count = min(len(dialogues[a]), len(dialogues[b]))
        if max_pairs_per_matchup:
            count = min(count, max_pairs_per_matchup)
        for (id_a, d_a), (id_b, d_b) in zip(dialogues[a][:count], dialogues[b][:count]):
            pairings.append(
                {
                    "is_onboarding": False,
                    "speakers_to_eval": [a, b],
                    "dialogue_dicts": [d_a, d_b],
                    "dialogue_ids": [id_a, id_b],
                }
            )
    return pairings


def left_right(count: int, seed: int = PAIRING_SEED) -> list[bool]:
    """Whether each pair shows its first dialogue on the left, fixed once per pair by ``seed`` (ParlAI uses 42)."""
    rng = random.Random(seed)
    return [rng.random() < 0.5 for _ in range(count)]


def ordered(pairings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Onboarding pairings first, then the others, each group in its given order (``pair_id`` = index here)."""
    return [p for p in pairings if p["is_onboarding"]] + [p for p in pairings if not p["is_onboarding"]]
