"""Helpers of the human-eval app tests: a fake model, task specs, and the study-link and page helpers."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

TOKEN = "test-admin-token"
ADMIN = {"X-Admin-Token": TOKEN}


class FakeModel:
    """Replies ``reply to: <last turn>``; ``<script>`` in the reply, raising or sleeping when asked by the message."""

    def reply(self, turns: Sequence[str]) -> str:
        last = turns[-1]
        if last == "crash":
            raise RuntimeError("boom")
        if last == "slow":
            time.sleep(2)
        if last == "xss":
            return "<script>alert(1)</script>"
        return f"reply to: {last}"


def _dialogue(name: str) -> dict[str, Any]:
    turns = [{"id": "other_speaker", "text": "hi"}, {"id": name, "text": f"{name} says hi"}]
    return {"speakers": [name, "other_speaker"], "dialogue": turns}


def pairing(a: str, b: str, ids: list[int], onboarding: bool = False, correct: str | None = None) -> dict[str, Any]:
    """A pairing of one short dialogue per speaker."""
    row: dict[str, Any] = {
        "is_onboarding": onboarding,
        "speakers_to_eval": [a, b],
        "dialogue_dicts": [_dialogue(a), _dialogue(b)],
    }
    if onboarding:
        row["correct_answer"] = correct
    else:
        row["dialogue_ids"] = ids
    return row


def pairwise_spec(name: str = "acute", pairs: int = 4, onboarding: bool = True, **extra: Any) -> dict[str, Any]:
    """A pairwise task of ``pairs`` pairs of model_a vs model_b (plus one onboarding pair)."""
    rows = [pairing("model_a", "model_b", [2 * i, 2 * i + 1]) for i in range(pairs)]
    if onboarding:
        rows.append(pairing("good_bot", "bad_bot", [], onboarding=True, correct="good_bot"))
    return {"name": name, "kind": "pairwise", "pairings": rows, "subtasks_per_unit": 2, **extra}


def chat_spec(name: str = "chat", **extra: Any) -> dict[str, Any]:
    """A model-chat task of 2 turns with the fake model."""
    return {"name": name, "kind": "model_chat", "model_file": "fake", "skip_model_check": True, "num_turns": 2,
            "turn_timeout": 1, **extra}  # fmt: skip


def create(client, spec: dict[str, Any]) -> int:
    """Create a task through the admin route; return its id."""
    response = client.post("/admin/tasks", json=spec, headers=ADMIN)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def start(client, task_id: int, worker: str) -> str:
    """Follow the study link; return the unit key."""
    response = client.get(f"/start/{task_id}?worker_id={worker}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[1]


def shown_pair(html: str) -> tuple[int, list[str]]:
    """The pair id and the two speaker names of a pairwise page."""
    pair_id = int(re.search(r'name="pair_id" value="(\d+)"', html).group(1))
    names = re.findall(r'name="speaker_choice" value="([^"]+)"', html)
    return pair_id, names
