"""Read one epoch of a ParlAI teacher in tests (importable: ``tests/`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

from parlai.core.params import ParlaiParser
from parlai.core.teachers import create_task_agent_from_taskname


def load(task: str, datatype: str, datapath: str, **kwargs) -> tuple[list[dict], object]:
    """Every example of one epoch of ``task`` (labels under ``labels`` whatever the datatype), and the teacher."""
    opt = ParlaiParser(True, False).parse_kwargs(task=task, datatype=datatype, datapath=datapath, **kwargs)
    teacher = create_task_agent_from_taskname(opt)[0]
    examples = []
    while not teacher.epoch_done():
        act = dict(teacher.act())
        if "eval_labels" in act:
            act["labels"] = act.pop("eval_labels")
        examples.append(act)
    return examples, teacher
