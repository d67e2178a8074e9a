"""The paper's comparison from one command: every method trained on the same data, budget, decoding and seeds.

For each seed, one loop run (:class:`~cringe_agent.iterative.loop.Loop`, method ``cringe``) trains the MLE
baseline (round 0; with ``--init-model``, that model is every seed's round 0), CRINGE's single iteration (round 1)
and its iterative rounds (r >= 2). Every other method, and every ablation of CRINGE's ``k`` and ``alpha``, is a
one-round loop run that fine-tunes *that seed's* baseline model with the same steps, learning rate, data and
decoding, and is evaluated on the same held-out contexts:

    run_dir/compare_config.json          the loop settings shared by every arm
    run_dir/seed_<s>/cringe/             baseline, CRINGE (single iteration), CRINGE (iteration r)
    run_dir/seed_<s>/<arm>/round_1/      each other method or ablation (its own loop run directory)
    run_dir/comparison.json, .md, .csv, .png

Each arm's run directory is an ordinary, resumable loop run: a killed comparison continues where it stopped and never
redoes a finished step; a finished comparison rerun reads everything back. Adding seeds later reuses the finished
ones. Several ``cringe-compare`` processes may share a directory (one per core, or per machine on a shared disk): an
arm that another process is running is skipped and named in a warning, and a last invocation once all are done
writes the full table.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cringe_agent.iterative.compare_report import write_comparison
from cringe_agent.iterative.config import LoopConfig, validate
from cringe_agent.iterative.loop import Loop
from cringe_agent.iterative.methods import METHODS
from cringe_agent.iterative.rundir import RunDirBusy, read_json
from cringe_agent.jsonl import write_json_atomic

logger = logging.getLogger(__name__)

#: The methods of a comparison, in table order ("cringe" stands for its single and iterative rows).
DEFAULT_METHODS = ("mle_pos", "mle_all", "unlikelihood", "sigmoid", "reranker", "director", "cringe")
#: The paper's ablations of CRINGE's hyper-parameters (one at a time, the other at the config's value).
ABLATION_K = (1, 5)
ABLATION_ALPHA = (0.5, 1.0, 2.0)
CONFIG = "compare_config.json"


@dataclass(frozen=True)
class Arm:
    """One fine-tuned variant of a seed's baseline: a method, or CRINGE with other hyper-parameters.

    Attributes:
        key: Its folder under ``seed_<s>/``.
        label: Its row name.
        group: ``methods`` or ``ablations``.
        method: The loop's ``--method``.
        overrides: Config fields that differ from the comparison's (``k``, ``alpha``).
    """

    key: str
    label: str
    group: str
    method: str
    overrides: dict[str, Any] = field(default_factory=dict)


def arms(methods: Sequence[str], ablations: bool, cfg: LoopConfig) -> list[Arm]:
    """The one-round arms of a comparison (CRINGE's own rows come from the seed's loop run)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {', '.join(unknown)}; valid methods: {', '.join(METHODS)}")
    out = [Arm(m, METHODS[m].label, "methods", m) for m in methods if m != "cringe"]
    if ablations:
        out += [
            Arm(f"cringe_k{k}", f"CRINGE k={k}", "ablations", "cringe", {"k": k}) for k in ABLATION_K if k != cfg.k
        ]
        out += [
            Arm(f"cringe_alpha{a:g}", f"CRINGE alpha={a:g}", "ablations", "cringe", {"alpha": a})
            for a in ABLATION_ALPHA
            if a != cfg.alpha
        ]
    return out


def row(metrics: dict[str, Any], label: str, group: str, seed: int, run_dir: Path, arm_dir: Path) -> dict[str, Any]:
    """One comparison row from a loop round's metrics (model file relative to the comparison's directory)."""
    provocative, rnd = metrics["sets"]["provocative"], metrics["sets"]["random"]
    model_file = Path(metrics["model_file"])
    if not model_file.is_absolute():
        model_file = arm_dir / model_file
    if model_file.is_relative_to(run_dir):
        model_file = model_file.relative_to(run_dir)
    seconds = metrics.get("seconds") or {}
    return {
        "method": label,
        "group": group,
        "seed": seed,
        "flagged_rate": provocative["flagged_rate"],
        "flagged": provocative["flagged"],
        "total": provocative["n"],
        "judge_rate": provocative["judge_flagged_rate"],
        "flagged_rate_random": rnd["flagged_rate"],
        "f1": 100 * metrics["f1"] if metrics.get("f1") is not None else None,
        "ppl_pos": metrics.get("ppl_pos"),
        "distinct_2": rnd["distinct_2"],
        "top_reply_share": rnd["top_reply_share"],
        "greedy_top_reply_share": (metrics.get("greedy") or {}).get("top_reply_share"),
        "model_file": str(model_file),
        "train_seconds": seconds.get("train", 0.0),
        "seconds": sum(seconds.values()),
    }


class Comparison:
    """Every method and ablation against CRINGE, over several seeds, in one run directory.

    Args:
        config: The loop settings every arm shares (steps, learning rate, data, decoding, classifiers).
        run_dir: The comparison's directory.
        seeds: The seeds; each gets its own baseline, and every arm of it fine-tunes that baseline.
        methods: The methods (:data:`DEFAULT_METHODS`); ``cringe`` gives the single and iterative rows.
        ablations: Also run CRINGE with ``k`` in :data:`ABLATION_K` and ``alpha`` in :data:`ABLATION_ALPHA`.
        paper: The paper's reported points for the plot's reference panel (or None).
    """

    def __init__(
        self,
        config: LoopConfig,
        run_dir: str | Path,
        seeds: Sequence[int] = (0, 1, 2),
        methods: Sequence[str] = DEFAULT_METHODS,
        ablations: bool = True,
        paper: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {list(seeds)}")
        self.cfg, self.run_dir = config, Path(run_dir)
        self.seeds, self.methods, self.ablations, self.paper = list(seeds), list(methods), ablations, paper
        self.arms = arms(self.methods, ablations, config)

    def _check_dir(self) -> None:
        """Create the directory with the shared loop settings, or refuse one of other settings or other files.

        Seeds, methods and ablations may change between invocations: each arm's run directory is checked by its own
        loop, so a finished arm is reused and a new one is added.
        """
        settings = {"loop": {**self.cfg.to_dict(), "seed": None}}
        path = self.run_dir / CONFIG
        if path.exists():
            saved = read_json(path).get("loop", {})
            diff = sorted(k for k in set(saved) | set(settings["loop"]) if saved.get(k) != settings["loop"].get(k))
            if diff:
                raise ValueError(
                    f"{self.run_dir} holds a comparison of other settings ({', '.join(diff)} differ); use another "
                    "--run-dir, or the same settings to resume it (--seeds, --methods and --ablations may change)"
                )
            return
        if self.run_dir.exists() and (self.run_dir.is_file() or any(self.run_dir.iterdir())):
            raise ValueError(f"{self.run_dir} is not empty and holds no comparison ({CONFIG}): use another --run-dir")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, settings)

    def seed_config(self, seed: int) -> LoopConfig:
        """The seed's CRINGE loop: baseline, single iteration and the iterative rounds."""
        return dataclasses.replace(self.cfg, seed=seed, method="cringe")

    def arm_config(self, arm: Arm, seed: int) -> LoopConfig:
        """An arm's one-round loop: fine-tune the seed's baseline model with the arm's method and settings."""
        loop_dir = self.run_dir / f"seed_{seed}" / "cringe"
        baseline = Loop(self.seed_config(seed), loop_dir.resolve()).model_file(0)  # or the shared --init-model
        return dataclasses.replace(
            self.cfg,
            seed=seed,
            method=arm.method,
            rounds=1,
            init_model=baseline,
            evaluate_init=False,
            **arm.overrides,
        )

    def run(self) -> list[dict[str, Any]]:
        """Run (or resume) every seed's loop and arms; write and return the comparison's rows."""
        validate(dataclasses.replace(self.cfg, rounds=max(self.cfg.rounds, 1)))
        self._check_dir()
        done = self._reported_seeds()
        self.busy: list[str] = []
        rows: list[dict[str, Any]] = []
        for i, seed in enumerate(self.seeds):
            rows += self.run_seed(seed)
            if rows and (i == len(self.seeds) - 1 or not set(self.seeds) <= done):  # the table so far
                write_comparison(self.run_dir, _ordered(rows), paper=self.paper)
        if self.busy:
            logger.warning(
                f"{len(self.busy)} arms were running in other processes and are not in the table yet: "
                f"{', '.join(self.busy)}; run the same command again when they finish"
            )
        return _ordered(rows)

    def _reported_seeds(self) -> set[int]:
        """The seeds the comparison's files already report (a finished rerun then rewrites nothing on the way)."""
        path = self.run_dir / "comparison.json"
        if not path.is_file():
            return set()
        doc = read_json(path)
        return {r.get("seed") for r in doc.get("methods", [])} if isinstance(doc, dict) else set()

    def run_seed(self, seed: int) -> list[dict[str, Any]]:
        """The rows of one seed: its loop's rounds, then each arm's round 1."""
        seed_dir = self.run_dir / f"seed_{seed}"
        loop_dir = seed_dir / "cringe"
        try:
            rounds = Loop(self.seed_config(seed), loop_dir).run()["rounds"]
        except RunDirBusy:  # another cringe-compare runs this seed's baseline: its arms need it, skip the seed
            self.busy.append(f"seed {seed}")
            return []
        rows = [row(m, m["method"], "methods", seed, self.run_dir, loop_dir) for m in rounds]
        for arm in self.arms:
            logger.info(f"seed {seed}: {arm.label}")
            arm_dir = seed_dir / arm.key
            try:
                (metrics,) = Loop(self.arm_config(arm, seed), arm_dir).run()["rounds"]
            except RunDirBusy:  # another cringe-compare on the same directory runs it: go on with the next arm
                self.busy.append(f"seed {seed} {arm.key}")
                continue
            rows.append(row(metrics, arm.label, arm.group, seed, self.run_dir, arm_dir))
        if self.ablations:  # the default settings' row among the ablations, for reading them side by side
            single = next(m for m in rounds if m["round"] == 1)
            label = f"CRINGE k={self.cfg.k} alpha={self.cfg.alpha:g} (the single iteration)"
            rows.append(row(single, label, "ablations", seed, self.run_dir, loop_dir))
        return rows


def _ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in table order: the baseline, the other methods, CRINGE's rows, then the ablations; seeds within each."""

    def rank(r: dict[str, Any]) -> int:
        if r["group"] == "ablations":
            return 3
        if r["method"].startswith("CRINGE"):
            return 2
        return 0 if r["method"] in ("baseline (MLE)", "init model") else 1

    first: dict[str, int] = {}
    for i, r in enumerate(rows):
        first.setdefault(r["method"], i)
    return sorted(rows, key=lambda r: (rank(r), first[r["method"]], r["seed"]))
