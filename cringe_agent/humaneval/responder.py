"""Model replies for the chat pages: a ParlAI model file loaded once per task, and a timeout around every reply."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Responder(Protocol):
    """Anything that answers a dialogue: ``reply(turns)`` gets the turns so far, oldest first (human first)."""

    def reply(self, turns: Sequence[str]) -> str: ...


class ModelTurnError(RuntimeError):
    """The model failed to reply (it raised, or took longer than the timeout); the message is shown to the worker."""


class ParlAIResponder:
    """A ParlAI generator loaded from a model file with ``create_agent_from_model_file``, shared by every chat.

    Each reply starts from a fresh clone that observes the whole conversation as one message (the turns joined by
    ``\\n``, ParlAI's history delimiter), so replies depend on the stored turns only: a restart loses no state.
    """

    def __init__(self, model_file: str, overrides: dict[str, Any] | None = None) -> None:
        from parlai.core.agents import create_agent_from_model_file

        from cringe_agent import compat  # noqa: F401  (ParlAI fixes first)

        opts = {"skip_generation": False, "interactive_mode": True, **(overrides or {})}
        self.agent = create_agent_from_model_file(model_file, opts)
        if self.agent is None:
            raise FileNotFoundError(f"no ParlAI model at {model_file} (its .opt file is missing)")
        self.model_file = model_file
        self.lock = threading.Lock()

    def reply(self, turns: Sequence[str]) -> str:
        """The model's next utterance after ``turns``."""
        import torch

        with self.lock, torch.no_grad():
            clone = self.agent.clone()
            clone.reset()
            clone.observe({"text": "\n".join(turns), "episode_done": False})
            return str(clone.act().get("text", ""))


class ResponderPool:
    """One responder per task, made on first use by ``factory(task_config)``; replies run with a timeout."""

    def __init__(self, factory: Callable[[dict[str, Any]], Responder], max_workers: int = 4) -> None:
        self.factory = factory
        self.responders: dict[int, Responder] = {}
        self.lock = threading.Lock()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="model")

    def get(self, task_id: int, config: dict[str, Any]) -> Responder:
        """The task's responder, loaded once."""
        with self.lock:
            if task_id not in self.responders:
                self.responders[task_id] = self.factory(config)
            return self.responders[task_id]

    def reply(self, task_id: int, config: dict[str, Any], turns: Sequence[str], timeout: float) -> str:
        """The model's reply, or :class:`ModelTurnError` when loading or replying raises or exceeds ``timeout`` s."""
        try:
            responder = self.get(task_id, config)
        except Exception as err:  # noqa: BLE001
            raise ModelTurnError(f"The model could not be loaded ({type(err).__name__}: {err}).") from err
        future = self.executor.submit(responder.reply, list(turns))
        try:
            text = future.result(timeout=timeout)
        except concurrent.futures.TimeoutError:
            raise ModelTurnError(
                f"The model did not reply within {timeout:g} seconds. "
                "Your message was not saved; please send it again."
            ) from None
        except Exception as err:  # noqa: BLE001
            raise ModelTurnError(
                f"The model failed to reply ({type(err).__name__}). Your message was not saved; please send it again."
            ) from err
        if not isinstance(text, str) or not text.strip():
            raise ModelTurnError("The model gave an empty reply. Your message was not saved; please send it again.")
        return text


def parlai_factory(config: dict[str, Any]) -> Responder:
    """The default factory: a :class:`ParlAIResponder` on ``config['model_file']`` with ``config['overrides']``."""
    return ParlAIResponder(config["model_file"], config.get("overrides") or {})
