"""ACUTE-style pairs from a loop run: the same held-out contexts answered by two rounds' models.

``cringe-eval pairs-from-run RUN_DIR --out pairs.jsonl`` (or :func:`pairings_from_run`) reads two rounds'
``eval_<set>.jsonl`` files (the loop scores every round on the same contexts, in the same order) and writes one
non-onboarding pairing per context: the context as the human evaluator's turn, each round's reply as its model's.
With the persona task the ``roleplay`` question ("How well does the speaker play their role?") asks what the judge
measures, by people.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cringe_agent.humaneval.pairings import HUMAN_EVALUATOR, validate_pairing
from cringe_agent.jsonl import read_jsonl


def pairings_from_run(
    run_dir: str | Path, rounds: tuple[int, int] = (0, 2), eval_set: str = "provocative", limit: int | None = None
) -> list[dict[str, Any]]:
    """One pairing per held-out context of ``eval_set``: round ``rounds[0]``'s reply vs round ``rounds[1]``'s.

    Raises:
        ValueError: A round's file is missing, or the two files do not hold the same contexts in the same order.
    """
    names = [f"round_{r}" for r in rounds]
    paths = [Path(run_dir) / name / f"eval_{eval_set}.jsonl" for name in names]
    for path in paths:
        if not path.is_file():
            raise ValueError(f"{path}: no such file (has that round been evaluated?)")
    left, right = (read_jsonl(p) for p in paths)
    if [r["context"] for r in left] != [r["context"] for r in right]:
        raise ValueError(f"{paths[0]} and {paths[1]} do not hold the same contexts in the same order")
    pairings = []
    for i, (a, b) in enumerate(zip(left, right)):
        dialogues = [
            {"speakers": [HUMAN_EVALUATOR, name], "id": f"{name}:{i}", "dialogue": [
                {"id": HUMAN_EVALUATOR, "text": row["context"]}, {"id": name, "text": row["text"]}]}
            for name, row in zip(names, (a, b))
        ]  # fmt: skip
        pairing = {"is_onboarding": False, "speakers_to_eval": names, "dialogue_dicts": dialogues,
                   "dialogue_ids": [i, i]}  # fmt: skip
        pairings.append(validate_pairing(pairing, f"{run_dir} context {i + 1}"))
    return pairings[:limit]
