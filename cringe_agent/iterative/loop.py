"""The iterative CRINGE loop (Adolphs et al., 2022, Algorithm 2) as resumable steps in one run directory.

Round 0 trains the MLE baseline (ParlAI's ``transformer/generator``) or starts from ``init_model``. Each later
round r generates replies to training prompts with round r-1's model, labels them with the classifier, selects
(50/50, at most ``max_pos_copies`` identical positives), and fine-tunes round r-1's model with CRINGE on the task
plus the selections of rounds 1..r. Every round is evaluated on held-out provocative and random contexts.

Layout of a run directory::

    config.json                 the settings; a different configuration is refused
    round_<r>/generations.jsonl context, text, prob, label (r >= 1)
    round_<r>/selection.jsonl   what round r trains on besides the task (r >= 1)
    round_<r>/model*            ParlAI model files; model.checkpoint while training
    round_<r>/train.json        training report (its presence marks training done)
    round_<r>/eval_<set>.jsonl  scored held-out replies
    round_<r>/metrics.json      the round's results (its presence marks the round done)
    report.json, report.md, report.csv, report.png

Every file is written to a temporary name and renamed, and every step starts by checking for its output: a killed
run, started again with the same command, continues at the first missing file (a killed training resumes from
ParlAI's checkpoint) and never redoes a finished step.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from cringe_agent.classifiers import Classifier, build_classifier
from cringe_agent.iterative.config import LoopConfig, check_run_dir
from cringe_agent.iterative.evaluate import score_replies, summarize
from cringe_agent.iterative.generate import generate
from cringe_agent.iterative.report import write_report
from cringe_agent.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic
from cringe_agent.labels import NEG, POS
from cringe_agent.mutators.generations import select_generations

logger = logging.getLogger(__name__)
AGENT = "cringe_agent.agents.transformer:CringeTransformerGeneratorAgent"
BASELINE_AGENT = "transformer/generator"
EVAL_SETS = ("provocative", "random")


class _NoOptionDump(logging.Filter):
    """Drop ParlAI's listing of every option (about 250 lines per train or eval call); its reports stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.endswith("Opt:") or (msg.startswith("    ") and "\n" not in msg and ": " in msg))


def _read(path: Path) -> Any:
    return read_jsonl(path) if path.suffix == ".jsonl" else json.loads(path.read_text())


def _write(path: Path, value: Any) -> None:
    if path.suffix == ".jsonl":
        write_jsonl_atomic(path, value)
    else:
        write_json_atomic(path, value)


class Loop:
    """One run of the loop; :meth:`run` does every missing step and returns the report.

    Args:
        config: The settings.
        run_dir: Where everything of the run lives.
        contexts: Source of prompts and held-out contexts; defaults to the chit-chat functions of
            ``tasks.chitchat.agents`` (``training_contexts`` and ``heldout_contexts``).
    """

    def __init__(self, config: LoopConfig, run_dir: str | Path, contexts: Any = None) -> None:
        self.cfg = config
        self.run_dir = Path(run_dir)
        if contexts is None:
            import tasks.chitchat.agents as contexts
        self.contexts = contexts
        self._labeller: Classifier | None = None
        self._judge: Classifier | None = None

    # -- pieces -------------------------------------------------------------------------------------------------
    @property
    def labeller(self) -> Classifier:
        if self._labeller is None:
            self._labeller = build_classifier(self.cfg.classifier)
        return self._labeller

    @property
    def judge(self) -> Classifier:
        if self._judge is None:
            self._judge = build_classifier(self.cfg.judge)
        return self._judge

    def round_dir(self, r: int) -> Path:
        path = self.run_dir / f"round_{r}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def model_file(self, r: int) -> str:
        if r == 0 and self.cfg.init_model:
            return self.cfg.init_model
        return str(self.round_dir(r) / "model")

    def _task_opts(self) -> dict[str, Any]:
        opts = dict(self.cfg.task_opts)
        if self.cfg.task.startswith("tasks.chitchat"):
            opts.setdefault("chitchat_label_classifier", self.cfg.classifier)
            opts.setdefault("chitchat_label_threshold", self.cfg.threshold)
        return opts

    def _heldout(self, kind: str) -> list[dict[str, Any]]:
        n = self.cfg.eval_provocative if kind == "provocative" else self.cfg.eval_random
        extra = {k[len("chitchat_") :]: v for k, v in self.cfg.task_opts.items() if k.endswith("_frac")}
        return self.contexts.heldout_contexts(
            "test",
            kind,
            n=n,
            seed=self.cfg.seed,
            classifier=self.cfg.classifier,
            threshold=self.cfg.threshold,
            **extra,
        )

    # -- steps --------------------------------------------------------------------------------------------------
    def train(self, r: int) -> dict[str, Any]:
        """Train round r's model (the baseline for r = 0), resuming from ParlAI's checkpoint if one exists."""
        from parlai.scripts.train_model import TrainModel

        cfg = self.cfg
        kwargs: dict[str, Any] = {**cfg.model, **self._task_opts()}
        kwargs.update(
            task=cfg.task,
            model_file=self.model_file(r),
            datapath=str(self.run_dir / "parlai_data"),
            max_train_steps=cfg.baseline_steps if r == 0 else cfg.round_steps,
            validation_every_n_secs=-1,
            validation_every_n_epochs=-1,
            validation_max_exs=200,
            short_final_eval=True,
            skip_generation=True,
            save_every_n_secs=60,
            log_every_n_secs=30,
        )
        if r == 0:
            kwargs["model"] = BASELINE_AGENT
        else:
            prev = self.model_file(r - 1)
            selections = [str(self.round_dir(i) / "selection.jsonl") for i in range(1, r + 1)]
            kwargs.update(
                model=AGENT,
                init_model=prev,
                dict_file=f"{prev}.dict",
                learningrate=cfg.round_lr,
                cringe_alpha=cfg.alpha,
                cringe_k=cfg.k,
                mutators="cringe_generations",
                cringe_generations=",".join(selections),
                cringe_generations_balance=False,  # selected already, by select()
                cringe_generations_max_pos_copies=0,
                cringe_generations_rate=cfg.generations_rate,
                cringe_generations_seed=cfg.seed + r,
            )
        random.seed(cfg.seed + r)
        torch.manual_seed(cfg.seed + r)
        start = time.time()
        valid, _test = TrainModel.main(**kwargs)
        report = {k: (v.value() if hasattr(v, "value") else v) for k, v in valid.items()}
        return {"seconds": time.time() - start, "valid": report, "steps": kwargs["max_train_steps"]}

    def generations(self, r: int) -> list[dict[str, Any]]:
        """Round r's labelled generations on training prompts, made with round r-1's model."""
        cfg = self.cfg
        prompts = self.contexts.training_contexts(cfg.prompts, seed=cfg.seed + r)
        replies = generate(
            self.model_file(r - 1),
            [p["text"] for p in prompts],
            cfg.decoding,
            seed=cfg.seed + r,
            desc=f"round {r}: generate",
        )
        if not replies:
            raise ValueError(f"round {r}: the model generated nothing for {len(prompts)} prompts")
        probs = self.labeller(replies, contexts=[p["text"] for p in prompts], golds=[p["gold"] for p in prompts])
        return [
            {
                "context": p["text"],
                "text": t,
                "prob": prob,
                "label": NEG if prob > cfg.threshold else POS,
                "gold": p["gold"],
                "round": r,
            }
            for p, t, prob in zip(prompts, replies, probs, strict=True)
        ]

    def select(self, r: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The generations round r trains on; says so when the classifier flagged nothing."""
        if not any(row["label"] == NEG for row in rows):
            logger.warning(
                f"round {r}: the classifier flagged none of {len(rows)} generations; "
                "this round trains without new negatives"
            )
        return select_generations(
            rows, balance=self.cfg.balance, max_pos_copies=self.cfg.max_pos_copies, seed=self.cfg.seed + r
        )

    def evaluate(self, r: int, kind: str) -> list[dict[str, Any]]:
        """Round r's model replies to the held-out contexts of one kind, scored by both judges."""
        contexts = self._heldout(kind)
        replies = generate(
            self.model_file(r),
            [c["text"] for c in contexts],
            self.cfg.decoding,
            seed=self.cfg.seed,
            desc=f"round {r}: eval {kind}",
        )
        return score_replies(contexts, replies, self.labeller, self.judge, self.cfg.threshold)

    def ppl_pos(self, r: int) -> float:
        """Perplexity of the positive labels of the task's valid split under round r's model."""
        from parlai.scripts.eval_model import EvalModel

        report = EvalModel.main(
            model=AGENT,
            model_file=self.model_file(r),
            task=self.cfg.task,
            datatype="valid",
            num_examples=self.cfg.ppl_examples,
            skip_generation=True,
            batchsize=64,
            datapath=str(self.run_dir / "parlai_data"),
            **self._task_opts(),
        )
        return float(report["ppl_pos"].value())

    # -- the loop -----------------------------------------------------------------------------------------------
    def run_round(self, r: int) -> dict[str, Any]:
        """Do every missing step of round r and return its metrics."""
        d = self.round_dir(r)
        timings_path = d / "timings.json"
        seconds: dict[str, float] = _read(timings_path) if timings_path.exists() else {}

        def step(name: str, compute: Callable[[], Any]) -> Any:
            """Read back the step's file ``d/name`` if an earlier run wrote it, else compute, write and time it."""
            path = d / name
            if path.exists():
                logger.info(f"done already: {path}")
                return _read(path)
            start = time.time()
            value = compute()
            _write(path, value)
            seconds[path.stem] = time.time() - start
            write_json_atomic(timings_path, seconds)
            return value

        if r > 0:
            rows = step("generations.jsonl", lambda: self.generations(r))
            selection = step("selection.jsonl", lambda: self.select(r, rows))
        if r > 0 or not self.cfg.init_model:
            step("train.json", lambda: self.train(r))
        evals = {kind: step(f"eval_{kind}.jsonl", lambda kind=kind: self.evaluate(r, kind)) for kind in EVAL_SETS}
        ppl = step("ppl.json", lambda: {"ppl_pos": self.ppl_pos(r)})["ppl_pos"]
        sets = {kind: summarize(rows) for kind, rows in evals.items()}
        model_file = Path(self.model_file(r))
        if model_file.is_relative_to(self.run_dir):
            model_file = model_file.relative_to(self.run_dir)
        metrics = {
            "round": r,
            "method": "baseline (MLE)" if r == 0 else f"CRINGE round {r}",
            "model_file": str(model_file),
            "flagged_rate": sets["provocative"]["flagged_rate"],
            "flagged_rate_random": sets["random"]["flagged_rate"],
            "judge_flagged_rate": sets["provocative"]["judge_flagged_rate"],
            "judge_flagged_rate_random": sets["random"]["judge_flagged_rate"],
            "f1": sets["random"]["f1"],
            "ppl_pos": ppl,
            "sets": sets,
            "seconds": seconds,
        }
        if r > 0:
            metrics["selection"] = {
                "neg": sum(s["label"] == NEG for s in selection),
                "pos": sum(s["label"] == POS for s in selection),
                "generations": len(rows),
                "flagged": sum(x["label"] == NEG for x in rows),
            }
        return metrics

    def run(self) -> dict[str, Any]:
        """Run (or resume) every round; write and return the report."""
        from parlai.utils.logging import logger as parlai_logger

        quiet = _NoOptionDump()
        parlai_logger.addFilter(quiet)
        try:
            return self._run()
        finally:
            parlai_logger.removeFilter(quiet)

    def _run(self) -> dict[str, Any]:
        check_run_dir(self.run_dir, self.cfg)
        for stale in self.run_dir.rglob(".*.tmp"):  # a write that a kill interrupted; its step is redone
            logger.info(f"removing unfinished write {stale}")
            stale.unlink()
        _ = self.labeller, self.judge  # an unknown classifier fails here, before any training
        rounds = []
        for r in range(self.cfg.rounds + 1):
            path = self.round_dir(r) / "metrics.json"
            if path.exists():
                metrics = _read(path)
            else:
                metrics = self.run_round(r)
                _write(path, metrics)
            rounds.append(metrics)
            write_report(self.run_dir, rounds)
        return {"rounds": rounds}
