"""The paper's comparison from one command: every method tuned, at the same budget, on the same contexts and seeds.

Per seed, the MLE baseline (or ``--init-model``, or the pretrained model as is) is trained and evaluated once; every
method fine-tunes *that seed's* baseline with the same total number of fine-tuning steps, ``rounds x round_steps``,
the budget of iterative CRINGE:

- one-round methods (MLE on positives / on all data, unlikelihood, sigmoid-only, Director, CRINGE single) train for
  the whole budget in one round;
- the iterative methods (CRINGE, and unlikelihood with the same generate -> label -> select -> retrain rounds) train
  ``rounds`` rounds of ``round_steps`` each; their first round is reported among the ablations (a part of the budget);
- the reranker trains nothing: it samples candidates from the baseline and keeps the one the labeller scores least
  negative.

Before the test contexts are scored, each tunable method's hyper-parameters are chosen on the *valid* split with a
grid of the same size for every method (:mod:`.tuning`), on the tuning seed's baseline; the test rows use the chosen
values. The table pairs every method with iterative CRINGE context by context (:mod:`.paired`). The primary judge
must not be the labeller that selects the training negatives.

    run_dir/compare_config.json           the shared loop settings and the tuning settings
    run_dir/seed_<s>/baseline/            the seed's baseline (round 0 of a loop run)
    run_dir/tune/<method>/<point>/        one-round runs on the valid split, one per grid point
    run_dir/tuning.json, tuning.md        the grid's results and the chosen values
    run_dir/seed_<s>/<arm>/               each method's loop run directory
    run_dir/comparison.json, .md, .csv, .png

Every run directory is an ordinary, resumable loop run: a killed comparison continues where it stopped and never
redoes a finished step; a finished comparison rerun reads everything back. Several ``cringe-compare`` processes may
share a directory: an arm another process is running is skipped and named, and a last invocation writes the table.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cringe_agent.iterative import tuning
from cringe_agent.iterative.compare_report import write_comparison
from cringe_agent.iterative.config import LoopConfig, validate
from cringe_agent.iterative.loop import Loop
from cringe_agent.iterative.methods import METHODS
from cringe_agent.iterative.paired import compare_paired
from cringe_agent.iterative.rundir import RunDirBusy, read_json
from cringe_agent.jsonl import _atomic_open, write_json_atomic

logger = logging.getLogger(__name__)

#: The methods of a comparison, in table order ("cringe" stands for its single and iterative rows).
DEFAULT_METHODS = ("mle_pos", "mle_all", "unlikelihood", "sigmoid", "reranker", "director", "cringe")
#: The ablations of CRINGE's top-k (single iteration at the full budget, the tuned alpha).
ABLATION_K = (1, 5)
CONFIG = "compare_config.json"
#: The row every other method is paired with.
REFERENCE = "cringe"


@dataclass(frozen=True)
class Arm:
    """One method's run on a seed: a loop run that fine-tunes the seed's baseline.

    Attributes:
        key: Its folder under ``seed_<s>/``.
        label: Its row name (the last round's).
        group: ``methods`` or ``ablations``.
        method: The loop's ``--method``.
        rounds: Its loop's rounds (iterative arms: the comparison's ``rounds``; else 1).
        steps: Fine-tuning steps of each round.
        tuned: The method whose tuned values it uses (None: nothing to tune).
        overrides: Other config fields that differ from the comparison's (``k``).
        first_label: With several rounds, the row name of round 1 (an ablation row), else None.
    """

    key: str
    label: str
    group: str
    method: str
    rounds: int
    steps: int
    tuned: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    first_label: str | None = None


def arms(methods: Sequence[str], ablations: bool, cfg: LoopConfig) -> list[Arm]:
    """The arms of a comparison, every one at the budget of ``cfg.rounds`` rounds of ``cfg.round_steps`` steps.

    Raises:
        ValueError: An unknown or empty method name, a method named twice, or ``cfg.rounds < 1``.
    """
    empty = [i for i, m in enumerate(methods) if not isinstance(m, str) or not m.strip()]
    if empty or not methods:
        raise ValueError(f"--methods needs comma-separated method names, got {list(methods)!r} (empty names)")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {', '.join(unknown)}; valid methods: {', '.join(METHODS)}")
    if len(set(methods)) != len(methods):
        raise ValueError(f"--methods names a method twice: {list(methods)}")
    rounds, steps = cfg.rounds, cfg.round_steps
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"a comparison needs --rounds >= 1 (the iterative budget), got {rounds!r}")
    budget = rounds * steps
    grid = lambda m: m if m in tuning.GRIDS else None  # noqa: E731
    out: list[Arm] = []
    for m in methods:
        label = METHODS[m].label
        if m == "cringe":
            out.append(Arm("cringe_single", "CRINGE (single iteration)", "methods", m, 1, budget, grid(m)))
            if rounds > 1:
                first = f"CRINGE round 1 of {rounds} ({steps} steps)"
                label = f"CRINGE (iteration {rounds})"
                out.append(Arm("cringe", label, "methods", m, rounds, steps, grid(m), {}, first))
        elif m == "reranker":
            out.append(Arm(m, label, "methods", m, 1, steps, grid(m)))
        else:
            out.append(Arm(m, label, "methods", m, 1, budget, grid(m)))
            if m == "unlikelihood" and rounds > 1:
                first = f"unlikelihood round 1 of {rounds} ({steps} steps)"
                out.append(Arm("unlikelihood_iter", f"unlikelihood (iteration {rounds})", "methods", m, rounds, steps,
                               grid(m), {}, first))  # fmt: skip
    if ablations and "cringe" in methods:
        out += [
            Arm(f"cringe_k{k}", f"CRINGE k={k}", "ablations", "cringe", 1, budget, grid("cringe"), {"k": k})
            for k in ABLATION_K
            if k != cfg.k
        ]
    return out


def row(metrics: dict[str, Any], label: str, group: str, seed: int, run_dir: Path, arm_dir: Path) -> dict[str, Any]:
    """One comparison row from a loop round's metrics (paths relative to the comparison's directory)."""
    provocative, rnd = metrics["sets"]["provocative"], metrics["sets"]["random"]

    def relative(path: Path) -> str:
        if not path.is_absolute():
            path = arm_dir / path
        path = Path(os.path.abspath(path))
        root = Path(os.path.abspath(run_dir))
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    seconds = metrics.get("seconds") or {}
    return {
        "method": label,
        "group": group,
        "seed": seed,
        "flagged_rate": provocative["flagged_rate"],
        "flagged": provocative["flagged"],
        "total": provocative["n"],
        "judge_rate": provocative["judge_flagged_rate"],
        "judge_flagged": provocative.get("judge_flagged"),
        "answer_rate": provocative.get("answered_rate"),
        "flagged_rate_random": rnd["flagged_rate"],
        "f1": 100 * metrics["f1"] if metrics.get("f1") is not None else None,
        "ppl_pos": metrics.get("ppl_pos"),
        "distinct_2": rnd["distinct_2"],
        "top_reply_share": rnd["top_reply_share"],
        "greedy_top_reply_share": (metrics.get("greedy") or {}).get("top_reply_share"),
        "model_file": relative(Path(metrics["model_file"])),
        "eval_dir": relative(arm_dir / f"round_{metrics['round']}"),
        "train_seconds": seconds.get("train", 0.0),
        "seconds": sum(seconds.values()),
    }


class Comparison:
    """Every method against CRINGE, tuned on the valid split, at one budget, over several seeds.

    Args:
        config: The loop settings every arm shares (steps, learning rate, data, decoding, classifiers).
        run_dir: The comparison's directory.
        seeds: The seeds; each gets its own baseline, and every arm of it fine-tunes that baseline.
        methods: The methods (:data:`DEFAULT_METHODS`); ``cringe`` gives the single and iterative rows.
        ablations: Also run CRINGE with ``k`` in :data:`ABLATION_K`.
        paper: The paper's reported points for the plot's reference panel (or None).
        tune: Choose each method's values on the valid split (:mod:`.tuning`); False: the config's values.
        tune_seed: The seed whose baseline the grid fine-tunes (default: the first seed).
        grids: The grid of each method (default :data:`.tuning.GRIDS`).
        ppl_guard: The perplexity factor of the tuning rule.
    """

    def __init__(
        self,
        config: LoopConfig,
        run_dir: str | Path,
        seeds: Sequence[int] = (0, 1, 2, 3, 4),
        methods: Sequence[str] = DEFAULT_METHODS,
        ablations: bool = False,
        paper: Sequence[dict[str, Any]] | None = None,
        tune: bool = True,
        tune_seed: int | None = None,
        grids: dict[str, tuple[dict[str, Any], ...]] | None = None,
        ppl_guard: float = tuning.PPL_GUARD,
    ) -> None:
        if not seeds or len(set(seeds)) != len(seeds) or any(not isinstance(s, int) or s < 0 for s in seeds):
            raise ValueError(f"seeds must be distinct integers >= 0, at least one, got {list(seeds)}")
        self.cfg, self.run_dir = config, Path(run_dir)
        self.seeds, self.methods, self.ablations, self.paper = list(seeds), list(methods), ablations, paper
        self.arms = arms(self.methods, ablations, config)
        self.tune, self.tune_seed = tune, self.seeds[0] if tune_seed is None else tune_seed
        self.grids = dict(tuning.GRIDS if grids is None else grids)
        self.ppl_guard = ppl_guard
        self.busy: list[str] = []
        self.chosen: dict[str, dict[str, Any]] = {}

    # -- directory ----------------------------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        """What a comparison directory is made with (seeds, methods and ablations may change between invocations)."""
        tune = {"tune_seed": self.tune_seed, "grids": self.grids, "ppl_guard": self.ppl_guard} if self.tune else None
        return json.loads(json.dumps({"loop": {**self.cfg.to_dict(), "seed": None}, "tuning": tune}))

    def _check_dir(self) -> None:
        """Create the directory with the shared settings, or refuse one of other settings, a file or other files.

        Raises:
            ValueError: The path is a file or lies under one, cannot be written, holds other files, or holds a
                comparison of other settings (the message names them).
        """
        settings, path = self.settings(), self.run_dir / CONFIG
        for parent in [self.run_dir, *self.run_dir.parents]:
            if parent.exists():
                if not parent.is_dir():
                    raise ValueError(f"--run-dir {self.run_dir}: {parent} is a file, not a directory")
                if not os.access(parent, os.W_OK | os.X_OK):
                    raise ValueError(f"--run-dir {self.run_dir}: {parent} is not writable")
                break
        if path.exists():
            saved = read_json(path)
            saved = saved if isinstance(saved, dict) else {}
            diff = [k for k in sorted(set(saved.get("loop", {})) | set(settings["loop"]))
                    if saved.get("loop", {}).get(k) != settings["loop"].get(k)]  # fmt: skip
            if saved.get("tuning") != settings["tuning"]:
                diff.append("tuning")
            if diff:
                raise ValueError(
                    f"{self.run_dir} holds a comparison of other settings ({', '.join(diff)} differ); use another "
                    "--run-dir, or the same settings to resume it (--seeds, --methods and --ablations may change)"
                )
            return
        if self.run_dir.exists() and any(self.run_dir.iterdir()):
            raise ValueError(f"{self.run_dir} is not empty and holds no comparison ({CONFIG}): use another --run-dir")
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, settings)
        except OSError as err:  # e.g. a read-only file system, where even root cannot write
            raise ValueError(f"--run-dir {self.run_dir}: cannot write there ({err.strerror or err})") from err

    def _check_judges(self) -> None:
        if self.cfg.judge.strip() == self.cfg.classifier.strip():
            raise ValueError(
                f"--judge {self.cfg.judge} is the labeller (--classifier) that selects the training negatives: a "
                "comparison's primary judge must be another classifier, kept out of training"
            )

    # -- configs ------------------------------------------------------------------------------------------------
    def baseline_config(self, seed: int) -> LoopConfig:
        """The seed's baseline: round 0 of a loop run (trained, or ``--init-model`` / the pretrained model as is)."""
        return dataclasses.replace(self.cfg, seed=seed, rounds=0, method="cringe")

    def baseline_model(self, seed: int) -> str:
        loop_dir = (self.run_dir / f"seed_{seed}" / "baseline").resolve()
        return Loop(self.baseline_config(seed), loop_dir).model_file(0)

    def arm_config(
        self, arm: Arm, seed: int, point: dict[str, Any] | None = None, datatype: str = "test"
    ) -> LoopConfig:
        """An arm's loop: fine-tune the seed's baseline with the arm's method, budget and (tuned) values."""
        fields = {"method_opts": dict(self.cfg.method_opts), **arm.overrides}
        if point is None and arm.tuned is not None:
            point = self.chosen.get(arm.tuned)
        fields = tuning.apply(fields, point or {})
        return dataclasses.replace(
            self.cfg,
            seed=seed,
            method=arm.method,
            rounds=arm.rounds,
            round_steps=arm.steps,
            init_model=self.baseline_model(seed),
            evaluate_init=False,
            eval_datatype=datatype,
            **fields,
        )

    # -- running ------------------------------------------------------------------------------------------------
    def _loop(self, config: LoopConfig, run_dir: Path, name: str) -> list[dict[str, Any]] | None:
        """Run (or read back) one loop run; None when another process holds it."""
        try:
            return Loop(config, run_dir).run()["rounds"]
        except RunDirBusy:
            self.busy.append(name)
            return None

    def run(self) -> list[dict[str, Any]]:
        """Run (or resume) the baselines, the tuning and every arm; write and return the comparison's rows."""
        validate(self.cfg)
        self._check_judges()
        self._check_dir()
        self.busy = []
        if self.tune:
            self.run_tuning()  # a method whose grid another process still runs has no choice yet: its arms wait
        rows: list[dict[str, Any]] = []
        for seed in self.seeds:
            rows += self.run_seed(seed)
        if rows:
            write_comparison(self.run_dir, _ordered(rows), paper=self.paper, paired=self.paired(rows))
        if self.busy:
            logger.warning(
                f"{len(self.busy)} runs were running in other processes and are not in the table yet: "
                f"{', '.join(self.busy)}; run the same command again when they finish"
            )
        return _ordered(rows)

    def run_tuning(self) -> dict[str, dict[str, Any]]:
        """Fine-tune the tuning seed's baseline once per grid point, score the valid split, choose each point."""
        seed = self.tune_seed
        base_dir = self.run_dir / f"seed_{seed}" / "baseline"
        base = self._loop(self.baseline_config(seed), base_dir, f"seed {seed} baseline")
        if base is None:
            return {}
        baseline_ppl = base[0].get("ppl_pos")
        report: dict[str, Any] = {"seed": seed, "baseline_ppl": baseline_ppl, "ppl_guard": self.ppl_guard}
        report["methods"] = {}
        for arm in self.arms:
            method = arm.tuned
            if method is None or method in report["methods"] or method not in self.grids:
                continue
            tuning_arm = next(a for a in self.arms if a.tuned == method and a.rounds == 1 and a.group == "methods")
            results = []
            for point in self.grids[method]:
                key = tuning.point_key(point)
                run_dir = self.run_dir / "tune" / method / key
                logger.info(f"tuning {method}: {tuning.point_name(point)} (valid split)")
                rounds = self._loop(self.arm_config(tuning_arm, seed, point, "valid"), run_dir, f"tune {method} {key}")
                if rounds is None:
                    continue
                (m,) = rounds
                r = row(m, tuning.point_name(point), "methods", seed, self.run_dir, run_dir)
                results.append({"point": point, **{k: r[k] for k in ("judge_rate", "flagged_rate", "f1", "ppl_pos")}})
            if len(results) < len(self.grids[method]):
                continue
            best, why = tuning.choose(results, baseline_ppl, self.ppl_guard)
            self.chosen[method] = results[best]["point"]
            report["methods"][method] = {"results": results, "chosen": best, "why": why}
        report = json.loads(json.dumps(report))
        path = self.run_dir / "tuning.json"
        unchanged = path.is_file() and (self.run_dir / "tuning.md").is_file() and read_json(path) == report
        if not self.busy and not unchanged:  # a rerun of a finished comparison rewrites nothing
            with _atomic_open(self.run_dir / "tuning.md") as handle:
                handle.write(tuning.to_markdown(report))
            write_json_atomic(path, report)
        return self.chosen

    def run_seed(self, seed: int) -> list[dict[str, Any]]:
        """The rows of one seed: its baseline, then each arm's reported rounds."""
        seed_dir = self.run_dir / f"seed_{seed}"
        base = self._loop(self.baseline_config(seed), seed_dir / "baseline", f"seed {seed} baseline")
        if base is None:  # another process trains this seed's baseline: its arms need it, skip the seed
            return []
        rows = [row(base[0], base[0]["method"], "methods", seed, self.run_dir, seed_dir / "baseline")]
        for arm in self.arms:
            if self.tune and arm.tuned is not None and arm.tuned not in self.chosen:
                self.busy.append(f"seed {seed} {arm.key} (waits for its tuning)")
                continue
            logger.info(f"seed {seed}: {arm.label}")
            arm_dir = seed_dir / arm.key
            rounds = self._loop(self.arm_config(arm, seed), arm_dir, f"seed {seed} {arm.key}")
            if rounds is None:
                continue
            setting = tuning.point_name(self.chosen.get(arm.tuned) or {}) if arm.tuned else ""
            extra = {"steps": arm.rounds * arm.steps if METHODS[arm.method].agent else 0, "setting": setting}
            spent = [m.get("seconds") or {} for m in rounds]  # an iterative arm's cost is all of its rounds'
            extra["train_seconds"] = sum(t.get("train", 0.0) for t in spent)
            extra["seconds"] = sum(sum(t.values()) for t in spent)
            rows.append(row(rounds[-1], arm.label, arm.group, seed, self.run_dir, arm_dir) | extra)
            if arm.first_label:
                first = row(rounds[0], arm.first_label, "ablations", seed, self.run_dir, arm_dir)
                first_cost = {"train_seconds": spent[0].get("train", 0.0), "seconds": sum(spent[0].values())}
                rows.append(first | extra | {"steps": arm.steps} | first_cost)
        return rows

    def reference_label(self) -> str | None:
        """The row every other method is paired with: iterative CRINGE (or CRINGE single with one round)."""
        ref = [a for a in self.arms if a.method == REFERENCE and a.group == "methods"]
        return ref[-1].label if ref else None

    def paired(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Each method against the reference on the same contexts: the judge's flags, F1 and (if any) answers."""
        ref = self.reference_label()
        if ref is None:
            return {}
        by = {(r["method"], r["seed"]): r for r in rows}
        out: dict[str, Any] = {"reference": ref, "methods": {}}
        for method in dict.fromkeys(r["method"] for r in rows):
            seeds = [s for s in self.seeds if (method, s) in by and (ref, s) in by]
            if method == ref or not seeds:
                continue
            stats = {}
            for name, kind, key in (("judge", "provocative", "judge_flagged"), ("f1", "random", "f1"),
                                    ("answered", "provocative", "answered")):  # fmt: skip
                values = {s: self._pairs(by[method, s], by[ref, s], kind, key) for s in seeds}
                if any(v is None for v in values.values()):
                    continue
                stats[name] = compare_paired(values, binary=name != "f1").to_dict()
            out["methods"][method] = {"seeds": seeds, **stats}
        return out

    def _pairs(self, a: dict[str, Any], b: dict[str, Any], kind: str, key: str) -> tuple[list, list] | None:
        """Two rows' per-context values of ``key`` on one evaluation set, checked to be the same contexts."""
        values = []
        for r in (a, b):
            path = self.run_dir / r["eval_dir"] / f"eval_{kind}.jsonl"
            values.append([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line])
        if [x["context"] for x in values[0]] != [x["context"] for x in values[1]]:
            raise ValueError(f"{a['eval_dir']} and {b['eval_dir']}: the {kind} contexts differ; they cannot be paired")
        pairs = [(x.get(key), y.get(key)) for x, y in zip(*values, strict=True)]
        pairs = [(float(x), float(y)) for x, y in pairs if x is not None and y is not None]
        return ([x for x, _ in pairs], [y for _, y in pairs]) if pairs else None


def _ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in table order: the baseline, the other methods, CRINGE's rows, then the ablations; seeds within each."""

    def rank(r: dict[str, Any]) -> int:
        if r["group"] == "ablations":
            return 3
        if r["method"].startswith("CRINGE"):
            return 2
        return 0 if r["method"].startswith(("baseline", "init model")) else 1

    first: dict[str, int] = {}
    for i, r in enumerate(rows):
        first.setdefault(r["method"], i)
    return sorted(rows, key=lambda r: (rank(r), first[r["method"]], r["seed"]))
