"""The loop's training step: one ``parlai train_model`` call per round, and the round's decoding saved in its model.

Round 0 trains ParlAI's ``transformer/generator`` by maximum likelihood (the baseline, :data:`BASELINE_AGENT`).
Round r >= 1 fine-tunes round r-1's model with the method's agent (CRINGE by default, see :mod:`.methods`) on the
task, plus (r >= 2) the selected generations of rounds 2..r injected by the ``cringe_generations`` mutator, read as
they are (they were selected by the loop).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from cringe_agent.iterative.methods import MLE_AGENT
from cringe_agent.jsonl import write_json_atomic

#: ParlAI's ``transformer/generator`` and its loss, projecting only label tokens in training (same loss, faster).
BASELINE_AGENT = MLE_AGENT


def train_round(
    *,
    task: str,
    task_opts: dict[str, Any],
    model_opts: dict[str, Any],
    model_file: str,
    datapath: str,
    steps: int,
    seed: int,
    init_model: str | None = None,
    agent: str = BASELINE_AGENT,
    agent_opts: dict[str, Any] | None = None,
    selections: Sequence[str] = (),
    generations_rate: float = 0.05,
    validation_max_exs: int = 200,
) -> dict[str, Any]:
    """Train one round's model with ParlAI and return ``{"seconds", "valid", "steps"}``.

    Args:
        task: ParlAI task string.
        task_opts: Extra options of the task.
        model_opts: ParlAI model options shared by every round.
        model_file: Where the model is saved.
        datapath: ParlAI's data folder.
        steps: Training steps (batches).
        seed: Seed of Python's and torch's random generators.
        init_model: Fine-tune from this model file (its dictionary too); None trains from scratch.
        agent: The ParlAI agent to train (default: the MLE baseline, :data:`BASELINE_AGENT`).
        agent_opts: The agent's own options (e.g. ``{"cringe_alpha": 1.0, ...}``).
        selections: Selected generations files to inject (already selected: read as they are).
        generations_rate: Injected generations per task episode.
        validation_max_exs: Examples of the final valid and test reports (informational: the loop evaluates).
    """
    from parlai.scripts.train_model import TrainModel

    kwargs: dict[str, Any] = {**model_opts, **task_opts}
    kwargs.update(
        task=task,
        model_file=model_file,
        datapath=datapath,
        max_train_steps=steps,
        validation_every_n_secs=-1,
        validation_every_n_epochs=-1,
        validation_max_exs=validation_max_exs,
        short_final_eval=True,
        skip_generation=True,
        save_every_n_secs=-1,  # no periodic checkpoint: a killed round restarts from its start (see Loop.train)
        log_every_n_secs=30,
    )
    if init_model:
        kwargs.update(init_model=init_model, dict_file=f"{init_model}.dict")
    kwargs.update(model=agent, **(agent_opts or {}))
    if selections:
        kwargs.update(
            mutators="cringe_generations",
            cringe_generations=",".join(selections),
            cringe_generations_select=False,  # the loop selected them already
            cringe_generations_rate=generations_rate,
            cringe_generations_seed=seed,
        )
    _import_modules(agent, task)
    random.seed(seed)
    torch.manual_seed(seed)
    start = time.time()
    valid, _test = TrainModel.main(**kwargs)
    report = {k: (v.value() if hasattr(v, "value") else v) for k, v in valid.items()}
    return {"seconds": time.time() - start, "valid": report, "steps": steps}


def save_untrained(model_opts: dict[str, Any], model_file: str, agent: str) -> dict[str, Any]:
    """Save a pretrained model as it is, as a ParlAI model file of ``agent`` (round 0 of a ``--model`` run).

    Only what the model options make trainable is written (nothing but the opt and dictionary files' worth when
    the top layers or adapters train): the base weights are read again from ``--model`` on every load.
    """
    from parlai.core.agents import create_agent
    from parlai.core.params import ParlaiParser

    start = time.time()
    parser = ParlaiParser(True, True)
    # datatype valid: no optimizer is built, so none is saved (a fine-tuning from this file starts its own)
    opt = parser.parse_kwargs(model=agent, model_file=model_file, datatype="valid", **model_opts)
    create_agent(opt).save(model_file)
    return {"seconds": time.time() - start, "valid": {}, "steps": 0}


def _import_modules(agent: str, task: str) -> None:
    """Import the agent's and the task's modules before the seeds are set.

    A module imported for the first time may draw from Python's global random generator (``rich.style``, imported
    through ParlAI's generator agent, draws 24 bits): imported after the seeding, it would shift the data order of
    the first training in a process only, so a resumed round would not equal an uninterrupted one.
    """
    from parlai.core.loader import load_agent_module, load_teacher_module

    load_agent_module(agent)
    for name in task.split(","):
        load_teacher_module(name.strip())


def save_decoding(model_file: str | Path, decoding: dict[str, Any]) -> None:
    """Write the loop's decoding options into a model's ``.opt`` file, so the file decodes as it was evaluated.

    ``parlai interactive -mf MODEL`` and ``parlai eval_model`` then sample as the loop did (flags given on their
    command line still win).
    """
    path = Path(f"{model_file}.opt")
    opt = json.loads(path.read_text(encoding="utf-8"))
    opt.update(decoding)
    write_json_atomic(path, opt)
