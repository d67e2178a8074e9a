"""The iterative CRINGE loop (Adolphs et al., 2022, Algorithm 2) as resumable steps in one run directory.

- Round 0: the MLE baseline (ParlAI's ``transformer/generator`` loss: ``MleTransformerGeneratorAgent``), or
  ``init_model``.
- Round 1, "CRINGE (single iteration)": fine-tune round 0's model with CRINGE on the task's own labelled data.
- With ``train_data="generations"`` (the pretrained preset), every round r >= 1 trains on the model's own labelled
  generations only (rounds 1..r's selections, no task data): round 1 generates, labels and selects too.
- Round r >= 2, "CRINGE (iteration r)": generate replies to training prompts with round r-1's model, label them with
  the classifier, select (50/50, at most ``max_pos_copies`` identical positives; nothing when one side is empty,
  unless ``empty_side="keep"``), and fine-tune round r-1's model on the task plus the selections of rounds 2..r.

``method`` swaps CRINGE for a baseline in rounds r >= 1 (:mod:`.methods`): MLE on positives or on everything,
unlikelihood, sigmoid-only, Director, or the reranker (no training; evaluation reranks sampled candidates).

Every round is evaluated on held-out provocative and random contexts (with the loop's decoding, and the random set
under greedy decoding too, for the collapse checks). The steps live in their own modules: :mod:`.contexts`
(prompts and held-out contexts of any task), :mod:`.generate`, :mod:`.label`, :mod:`cringe_agent.selection`,
:mod:`.train`, :mod:`.evaluate`, :mod:`.report`.

Layout of a run directory::

    config.json                   the settings; a different configuration is refused
    round_<r>/generations.jsonl   context, text, prob, label (r >= 2)
    round_<r>/selection.jsonl     what round r adds to the training data (r >= 2)
    round_<r>/model*              ParlAI model files (decoding saved in model.opt); model.checkpoint while training
    round_<r>/train.json          training report (its presence marks training done)
    round_<r>/eval_<set>.jsonl    scored held-out replies (provocative, random, random_greedy)
    round_<r>/metrics.json        the round's results (its presence marks the round done)
    report.json, report.md, report.csv, report.png

Every file is written to a temporary name and renamed, and every step starts by checking for its output: a killed
run, started again with the same command, continues at the first missing file (a killed training resumes from
ParlAI's checkpoint) and never redoes a finished step.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cringe_agent.classifiers import Classifier, build_classifier
from cringe_agent.iterative.config import LoopConfig, validate
from cringe_agent.iterative.contexts import KINDS, ContextSource, context_source
from cringe_agent.iterative.evaluate import positive_perplexity, score_replies, summarize
from cringe_agent.iterative.generate import generate
from cringe_agent.iterative.label import label_replies
from cringe_agent.iterative.methods import Method, method_of
from cringe_agent.iterative.parallel import ShardedClassifier
from cringe_agent.iterative.report import write_report
from cringe_agent.iterative.rerank import generate_reranked
from cringe_agent.iterative.rundir import Manifest, RunLock, check_run_dir, read_json, remove_unfinished_writes
from cringe_agent.iterative.tokenizer import bytelevel_opts, train_bytelevel_bpe
from cringe_agent.iterative.train import BASELINE_AGENT, save_decoding, save_untrained, train_round
from cringe_agent.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic
from cringe_agent.labels import NEG, POS
from cringe_agent.selection import select_generations

logger = logging.getLogger(__name__)
#: The teacher of ``train_data="generations"`` rounds: the selected generations files, nothing else.
GENERATIONS_TASK = "tasks.generations.agents"
EVAL_SETS = KINDS
#: Keys of a round's metrics that the report reads.
METRIC_KEYS = ("round", "method", "model_file", "flagged_rate", "f1", "ppl_pos", "sets", "seconds")
#: Greedy decoding: the collapse checks are reported under it too (ParlAI's default for a model file without one).
GREEDY = {"inference": "greedy", "beam_size": 1, "beam_block_ngram": -1}


class _NoOptionDump(logging.Filter):
    """Drop ParlAI's listing of every option (about 250 lines per train or eval call); its reports stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        return not (msg.endswith("Opt:") or (msg.startswith("    ") and "\n" not in msg and ": " in msg))


def _read(path: Path) -> Any:
    return read_jsonl(path) if path.suffix == ".jsonl" else read_json(path)


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
        prompts: Source of the training prompts; built from ``config.prompts_task`` when None.
        heldout: Source of the held-out contexts; built from ``config.eval_task`` when None.
        resolve_path: Turns the path of a ``parlai:PATH`` classifier spec into a model file (e.g. a ``zoo:``
            resolver); None takes paths as they are.
        workers: Processes that generate and label (:mod:`.parallel`); the output equals one process's, so it is
            not a setting of the run and may change between resumes.
    """

    def __init__(
        self,
        config: LoopConfig,
        run_dir: str | Path,
        prompts: ContextSource | None = None,
        heldout: ContextSource | None = None,
        resolve_path: Callable[[str], str] | None = None,
        workers: int = 1,
    ) -> None:
        self.cfg = config
        self.run_dir = Path(run_dir)
        self.resolve_path = resolve_path
        self.workers = workers  # processes of generation and labelling; not a setting: the output is the same
        self._prompts, self._heldout = prompts, heldout
        self._labeller: Classifier | None = None
        self._judge: Classifier | None = None
        self._answer_judge: Classifier | None = None

    # -- pieces -------------------------------------------------------------------------------------------------
    @property
    def labeller(self) -> Classifier:
        if self._labeller is None:
            if self.workers > 1:
                self._labeller = ShardedClassifier(self.cfg.classifier, self.workers, resolve_path=self.resolve_path)
            else:
                self._labeller = build_classifier(self.cfg.classifier, resolve_path=self.resolve_path)
        return self._labeller

    @property
    def judge(self) -> Classifier:
        if self._judge is None:
            if self.workers > 1:
                self._judge = ShardedClassifier(self.cfg.judge, self.workers, resolve_path=self.resolve_path)
            else:
                self._judge = build_classifier(self.cfg.judge, resolve_path=self.resolve_path)
        return self._judge

    @property
    def answer_judge(self) -> Classifier | None:
        """The classifier of right answers (``--answer-judge``), or None."""
        if self.cfg.answer_judge is None:
            return None
        if self._answer_judge is None:
            self._answer_judge = build_classifier(self.cfg.answer_judge, resolve_path=self.resolve_path)
        return self._answer_judge

    @property
    def datapath(self) -> str:
        return self.cfg.datapath or str(self.run_dir / "parlai_data")

    def _source(self, task: str) -> ContextSource:
        cfg = self.cfg
        return context_source(
            task, cfg.task_opts, self.datapath, self.labeller, cfg.classifier, cfg.threshold, cfg.eval_datatype
        )

    @property
    def prompts(self) -> ContextSource:
        if self._prompts is None:
            self._prompts = self._source(self.cfg.prompts_task or self.cfg.task)
        return self._prompts

    @property
    def heldout(self) -> ContextSource:
        if self._heldout is None:
            self._heldout = self._source(self.cfg.eval_task or self.cfg.task)
        return self._heldout

    def round_dir(self, r: int) -> Path:
        path = self.run_dir / f"round_{r}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def training_method(self) -> Method:
        """The method of rounds r >= 1."""
        return method_of(self.cfg.method, pretrained=bool(self.cfg.hf_model))

    def model_file(self, r: int) -> str:
        """Round r's model file: its own, ``init_model`` for an untrained round 0, the previous one's otherwise."""
        if r == 0 and self.cfg.init_model:
            return self.cfg.init_model
        if not self.trained(r):
            return self.model_file(r - 1)
        return str(self.round_dir(r) / "model")

    def _task_opts(self) -> dict[str, Any]:
        task_source = self.prompts if not self.cfg.prompts_task else self._source(self.cfg.task)
        return {**task_source.train_opts(), **self.cfg.task_opts}

    # -- steps --------------------------------------------------------------------------------------------------
    def train(self, r: int) -> dict[str, Any]:
        """Train round r's model (the baseline for r = 0) from the round's start.

        A training killed before its report was written restarts from the start of the round (its model files are
        removed first): with the same seed the result equals an uninterrupted run's, which resuming ParlAI's
        checkpoint (without its data order and random state) would not give.
        """
        cfg = self.cfg
        leftovers = [p for p in self.round_dir(r).iterdir() if p.name == "model" or p.name.startswith("model.")]
        if leftovers:
            logger.warning(f"round {r}: an interrupted training left {len(leftovers)} model files; restarting it")
            for p in leftovers:
                p.unlink()
        common = dict(
            task=cfg.task,
            task_opts=self._task_opts(),
            model_file=self.model_file(r),
            datapath=self.datapath,
            seed=cfg.seed + r,
            # a pretrained model's forward passes cost ~100x the tiny one's: a short informational final report
            validation_max_exs=32 if cfg.hf_model else 200,
        )
        if r == 0 and cfg.hf_model and cfg.baseline_steps == 0:
            report = save_untrained(self.model_opts(), self.model_file(0), method_of("mle_all", pretrained=True).agent)
        elif r == 0:
            agent = method_of("mle_all", pretrained=True).agent if cfg.hf_model else BASELINE_AGENT
            report = train_round(**common, model_opts=self.model_opts(), steps=cfg.baseline_steps, agent=agent)
        else:
            method = self.training_method
            train_args = dict(
                **common,
                model_opts={**self.model_opts(), "learningrate": cfg.round_lr},
                steps=cfg.round_steps,
                init_model=self.model_file(r - 1),
                agent=method.agent,
                agent_opts={**method.options(cfg), **cfg.method_opts},
                selections=self.selections(r),
                generations_rate=cfg.generations_rate,
            )
            if cfg.train_data == "generations":  # the selections are the whole training data
                files = ",".join(self.selections(r))
                if not files:
                    raise ValueError(f"round {r}: no generations were selected to train on (--train-data generations)")
                train_args["task"] = GENERATIONS_TASK
                train_args["task_opts"] = {"cringe_generations": files, "cringe_generations_select": False}
                train_args["selections"] = ()
            if cfg.replay_task:
                train_args["task"] = f"{train_args['task']},{cfg.replay_task}"
                train_args["task_opts"] = {**train_args["task_opts"], "multitask_weights": f"1,{cfg.replay_weight:g}"}
            report = train_round(**train_args)
        save_decoding(self.model_file(r), cfg.decoding)
        return report

    def model_opts(self) -> dict[str, Any]:
        """The model options of every round: the config's, with the trained byte-level BPE when one is asked for;
        with ``init_model``, that model's own dictionary options (``dict_*``, ``bpe_*``), kept by every round."""
        opts = dict(self.cfg.model)
        if self.cfg.hf_model:
            return {**opts, "hf_model": self.cfg.hf_model}
        if self.cfg.init_model:
            opts.update(_dictionary_opts(self.cfg.init_model))
        elif self.cfg.tokenizer == "bytelevelbpe":
            folder = self.run_dir / "tokenizer"
            opts.update(bytelevel_opts((folder / "vocab.json").resolve(), (folder / "merges.txt").resolve()))
            # ParlAI's build_dict would pass the training examples through the dictionary only to count token
            # frequencies, which a byte-level BPE's fixed vocabulary and order do not use: the same tokens in the
            # same order are saved (with zero counts), 5-12 s sooner.
            opts["dict_maxexs"] = 0
        return opts

    def train_tokenizer(self) -> dict[str, Any]:
        """Train the byte-level BPE on the training prompts' contexts and replies (run directory ``tokenizer/``)."""
        rows = self.prompts.training_prompts(None, seed=self.cfg.seed)
        texts = [t for row in rows for t in (row["text"], row.get("gold", "")) if t]
        train_bytelevel_bpe(texts, self.run_dir / "tokenizer", self.cfg.tokenizer_vocab)
        return {"texts": len(texts), "vocab_size": self.cfg.tokenizer_vocab, "folder": "tokenizer"}

    @property
    def first_generating_round(self) -> int:
        """The first round that generates, labels and selects: 2, or 1 with ``train_data="generations"``."""
        return 1 if self.cfg.train_data == "generations" else 2

    def selections(self, r: int) -> list[str]:
        """The non-empty selection files of the rounds up to r: the generations round r trains on (besides the task,
        unless ``train_data="generations"``)."""
        paths = [self.round_dir(i) / "selection.jsonl" for i in range(self.first_generating_round, r + 1)]
        return [str(p) for p in paths if p.stat().st_size > 0]

    def generations(self, r: int) -> list[dict[str, Any]]:
        """Round r's labelled generations on training prompts, made with round r-1's model."""
        prompts = self.prompts.training_prompts(self.cfg.prompts, seed=self.cfg.seed + r)
        replies = generate(
            self.model_file(r - 1),
            [p["text"] for p in prompts],
            self.cfg.decoding,
            seed=self.cfg.seed + r,
            desc=f"round {r}: generate",
            workers=self.workers,
        )
        return label_replies(prompts, replies, self.labeller, self.cfg.threshold, r)

    def select(self, r: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The generations round r trains on; says so when the classifier flagged nothing."""
        if not any(row["label"] == NEG for row in rows):
            logger.warning(
                f"round {r}: the classifier flagged none of {len(rows)} generations; "
                "this round trains without new negatives"
            )
        cfg = self.cfg
        if cfg.positive_threshold is not None:  # positives the labeller is sure of; the unsure ones train nothing
            rows = [row for row in rows if row["label"] == NEG or row["prob"] <= cfg.positive_threshold]
            if not rows:
                logger.warning(f"round {r}: no generation is flagged or a sure positive; this round adds none")
                return []
        return select_generations(
            rows, balance=cfg.balance, max_pos_copies=cfg.max_pos_copies, seed=cfg.seed + r, empty_side=cfg.empty_side
        )

    def evaluate(self, r: int, kind: str, decoding: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Round r's model replies to the held-out contexts of one kind, scored by both judges."""
        n = self.cfg.eval_provocative if kind == "provocative" else self.cfg.eval_random
        contexts = self.heldout.heldout(kind, n, seed=self.cfg.seed)
        texts = [c["text"] for c in contexts]
        desc = f"round {r}: eval {kind}"
        if r > 0 and self.training_method.rerank and decoding is None:
            replies = generate_reranked(
                self.model_file(r),
                texts,
                self.cfg.decoding,
                self.labeller,
                self.cfg.rerank_candidates,
                seed=self.cfg.seed,
                desc=desc,
            )
        else:
            replies = generate(
                self.model_file(r),
                texts,
                decoding or self.cfg.decoding,
                seed=self.cfg.seed,
                desc=desc,
                workers=self.workers,
            )
        return score_replies(contexts, replies, self.labeller, self.judge, self.cfg.threshold, self.answer_judge)

    def ppl_pos(self, r: int) -> float:
        """Perplexity of the positive labels of the task's valid split under round r's model."""
        cfg = self.cfg
        method = self.training_method if r > 0 else method_of("mle_all", pretrained=bool(cfg.hf_model))
        other_task = cfg.ppl_task and cfg.ppl_task != cfg.task
        return positive_perplexity(
            self.model_file(r),
            cfg.ppl_task if other_task else cfg.task,
            {} if other_task else self._task_opts(),
            self.datapath,
            cfg.ppl_examples,
            agent=method.eval_agent,
            metric=method.ppl_metric,
        )

    def method(self, r: int) -> str:
        """The name of round r's row in the report."""
        if r == 0:
            if self.cfg.hf_model and self.cfg.baseline_steps == 0:
                return "baseline (pretrained)"
            return "init model" if self.cfg.init_model else "baseline (MLE)"
        label = self.training_method.label
        if r == 1:
            return f"{label} (single iteration)" if self.cfg.method == "cringe" else label
        return f"{label} (iteration {r})"

    # -- the loop -----------------------------------------------------------------------------------------------
    def trained(self, r: int) -> bool:
        """Whether round r trains (round 0 does not when it starts from ``init_model``, nor a decoding-time method's
        rounds)."""
        if r == 0:
            return not self.cfg.init_model
        return self.training_method.agent is not None

    def run_round(self, r: int) -> dict[str, Any]:
        """Do every missing step of round r and return its metrics."""
        d = self.round_dir(r)
        manifest = Manifest(d, self.run_dir)
        timings_path = d / "timings.json"
        seconds: dict[str, float] = _read(timings_path) if timings_path.exists() else {}

        def step(name: str, compute: Callable[[], Any], inputs: list[Path]) -> Any:
            """Read back the step's file ``d/name`` if an earlier run wrote it, else compute, write and time it."""
            path = d / name
            if path.exists():
                logger.info(f"done already: {path}")
                manifest.check(path, inputs)
                return _read(path)
            start = time.time()
            value = compute()
            _write(path, value)
            manifest.record(path, inputs)
            seconds[path.stem] = time.time() - start
            write_json_atomic(timings_path, seconds)
            return value

        before = [self.round_dir(r - 1) / "train.json"] if r > 0 and self.trained(r - 1) else []
        if r > 0 and not self.trained(r):
            before = [self.round_dir(i) / "train.json" for i in range(r) if self.trained(i)][-1:]
        if r >= self.first_generating_round and self.trained(r):
            rows = step("generations.jsonl", lambda: self.generations(r), before)
            selection = step("selection.jsonl", lambda: self.select(r, rows), [d / "generations.jsonl"])
        if r == 0 and self.trained(0) and self.cfg.tokenizer == "bytelevelbpe" and not self.cfg.hf_model:
            step("tokenizer.json", self.train_tokenizer, [])
            before = [d / "tokenizer.json"]
        if self.trained(r):
            selections = [self.round_dir(i) / "selection.jsonl" for i in range(self.first_generating_round, r + 1)]
            step("train.json", lambda: self.train(r), before + selections)
        model = [d / "train.json"] if self.trained(r) else before
        evals = {
            kind: step(f"eval_{kind}.jsonl", lambda kind=kind: self.evaluate(r, kind), model) for kind in EVAL_SETS
        }
        greedy = step("eval_random_greedy.jsonl", lambda: self.evaluate(r, "random", GREEDY), model)
        ppl = step("ppl.json", lambda: {"ppl_pos": self.ppl_pos(r)}, model)["ppl_pos"]
        sets = {kind: summarize(rows) for kind, rows in evals.items()}
        model_file = Path(self.model_file(r))
        if model_file.is_relative_to(self.run_dir):
            model_file = model_file.relative_to(self.run_dir)
        metrics = {
            "round": r,
            "method": self.method(r),
            "model_file": str(model_file),
            "flagged_rate": sets["provocative"]["flagged_rate"],
            "flagged_rate_random": sets["random"]["flagged_rate"],
            "judge_flagged_rate": sets["provocative"]["judge_flagged_rate"],
            "judge_flagged_rate_random": sets["random"]["judge_flagged_rate"],
            "answer_rate": sets["provocative"].get("answered_rate"),
            "f1": sets["random"]["f1"],
            "ppl_pos": ppl,
            "sets": sets,
            "greedy": summarize(greedy),
            "seconds": seconds,
        }
        if r >= self.first_generating_round and self.trained(r):
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

    def _check_classifiers(self) -> None:
        """Build both classifiers and score one probe text, so that a bad spec fails before any training."""
        named = [("--classifier", self.labeller), ("--judge", self.judge), ("--answer-judge", self.answer_judge)]
        for name, classifier in [(n, c) for n, c in named if c is not None]:
            try:
                classifier(["hello there"], contexts=["hi"], golds=["hello"])
            except Exception as err:
                raise ValueError(f"{name} cannot score a probe reply: {err}") from err

    def first_round(self) -> int:
        """The first round of the report: 1 when round 0 is an ``init_model`` not to evaluate, else 0."""
        return 1 if self.cfg.init_model and not self.cfg.evaluate_init else 0

    def _finished(self) -> bool:
        rounds = range(self.first_round(), self.cfg.rounds + 1)
        return all((self.run_dir / f"round_{r}" / "metrics.json").is_file() for r in rounds)

    def _run(self) -> dict[str, Any]:
        validate(self.cfg)
        check_run_dir(self.run_dir, self.cfg, create=False)  # refuse a file, a foreign folder, another config
        if self._finished() and not os.access(self.run_dir, os.W_OK):
            logger.info(f"{self.run_dir}: a finished run in a read-only directory; reading it back")
            return {"rounds": [self._read_metrics(r) for r in range(self.first_round(), self.cfg.rounds + 1)]}
        self._check_classifiers()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        lock = RunLock(self.run_dir)
        lock.acquire()
        try:
            check_run_dir(self.run_dir, self.cfg)
            remove_unfinished_writes(self.run_dir)
            rounds = []
            for r in range(self.first_round(), self.cfg.rounds + 1):
                path = self.round_dir(r) / "metrics.json"
                if path.exists():
                    rounds.append(self._read_metrics(r))
                    continue
                metrics = self.run_round(r)
                _write(path, metrics)
                Manifest(self.round_dir(r), self.run_dir).record(path, [])
                rounds.append(metrics)
                write_report(self.run_dir, rounds)  # the report so far, after each new round
            write_report(self.run_dir, rounds)  # nothing is written when the report already holds these rounds
            return {"rounds": rounds}
        finally:
            lock.release()

    def _read_metrics(self, r: int) -> dict[str, Any]:
        """Round r's finished metrics, checked against its manifest and for the keys the report reads."""
        path = self.run_dir / f"round_{r}" / "metrics.json"
        Manifest(path.parent, self.run_dir).check(path, [])
        metrics = read_json(path)
        missing = [k for k in METRIC_KEYS if not isinstance(metrics, dict) or k not in metrics]
        if missing:
            raise ValueError(f"{path}: missing {', '.join(missing)} (edited or from another program?)")
        return metrics


#: ParlAI's options that decide how a dictionary tokenises (a model's ``.opt`` holds them with its dictionary's).
_DICTIONARY_OPTS = (
    "dict_tokenizer",
    "dict_lower",
    "dict_maxtokens",
    "dict_minfreq",
    "dict_textfields",
    "bpe_vocab",
    "bpe_merge",
    "bpe_add_prefix_space",
    "bpe_dropout",
)


def _dictionary_opts(model_file: str) -> dict[str, Any]:
    """The dictionary options (``dict_*``, ``bpe_*``) saved with a ParlAI model file (none for ``zoo:`` files)."""
    path = Path(f"{model_file}.opt")
    if not path.is_file():
        return {}
    opt = read_json(path)
    return {k: opt[k] for k in _DICTIONARY_OPTS if opt.get(k) is not None}
