"""The run directory: one configuration, one writer, only the loop's own files touched, inputs checked on resume.

- :func:`check_run_dir` creates the directory with ``config.json``, or checks that an existing one holds a run of the
  same configuration; a non-empty directory that is not a run directory is refused.
- :class:`RunLock` (``.lock``: process id, host, start time) keeps a second loop out; a lock left by a dead process
  on this host is taken over with a warning.
- :func:`remove_unfinished_writes` removes the temporary files of interrupted atomic writes, by the exact names the
  loop writes, in the run directory and its round folders only.
- :class:`Manifest` (``round_<r>/digests.json``) records the SHA-256 of every step's output and of the inputs it
  consumed; a step read back on resume is refused when its file, or an input, changed since.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from cringe_agent.iterative.config import LoopConfig
from cringe_agent.jsonl import write_json_atomic

logger = logging.getLogger(__name__)

CONFIG = "config.json"
LOCK = ".lock"
MANIFEST = "digests.json"
ROUND_DIR = re.compile(r"round_\d+")
#: Files the loop writes at the top of a run directory and in each round folder (ParlAI's model files aside).
TOP_FILES = (CONFIG, "report.json", "report.md", "report.csv", "report.png")
ROUND_FILES = (
    "generations.jsonl",
    "selection.jsonl",
    "train.json",
    "eval_provocative.jsonl",
    "eval_random.jsonl",
    "eval_random_greedy.jsonl",
    "ppl.json",
    "metrics.json",
    "timings.json",
    "tokenizer.json",
    MANIFEST,
)


def read_json(path: Path) -> Any:
    """Load a JSON file of the run; a missing, unreadable or malformed file raises ValueError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}): {err.reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}, line {err.lineno} column {err.colno}: {err.msg} (truncated or edited?)") from None


def check_run_dir(run_dir: Path, config: LoopConfig, *, create: bool = True) -> None:
    """Create ``run_dir`` with ``config.json``, or check that an existing one was made with the same settings.

    Args:
        run_dir: The run directory.
        config: The (validated) settings.
        create: Write ``config.json`` when the directory holds no run yet.

    Raises:
        ValueError: ``run_dir`` is a file, a non-empty directory that holds no run, or a run of a different
            configuration (the message lists the differences).
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"--run-dir {run_dir} is a file, not a directory")
    path = run_dir / CONFIG
    wanted = json.loads(json.dumps(config.to_dict()))  # normalise tuples etc. as JSON would
    if not path.exists():
        others = [p.name for p in run_dir.iterdir() if p.name != LOCK] if run_dir.exists() else []
        if others:
            shown = ", ".join(sorted(others)[:5]) + (", ..." if len(others) > 5 else "")
            raise ValueError(
                f"{run_dir} is not empty ({shown}) and holds no cringe-loop run ({CONFIG} is missing); "
                "use a new or empty --run-dir"
            )
        if create:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_json_atomic(path, wanted)
        return
    saved = read_json(path)
    if not isinstance(saved, dict):
        raise ValueError(f"{path}: expected a JSON object of settings, got {type(saved).__name__}")
    diffs = [
        f"{key}: run has {saved.get(key, '(absent)')!r}, asked {wanted.get(key, '(absent)')!r}"
        for key in sorted(set(saved) | set(wanted))
        if saved.get(key) != wanted.get(key)
    ]
    if diffs:
        raise ValueError(
            f"{run_dir} holds a run with a different configuration ({path}); resume it with the same settings, or "
            "use a new --run-dir. Differences:\n  " + "\n  ".join(diffs)
        )


def remove_unfinished_writes(run_dir: Path) -> list[Path]:
    """Remove the temporary files of interrupted writes (``.<name>.<random>.tmp`` of the loop's own file names).

    Only the run directory and its ``round_<r>`` folders are looked at, and only names the loop writes; anything
    else (a user's ``.draft.tmp``, ParlAI's files) stays.
    """
    removed = []
    folders = [(run_dir, TOP_FILES)] + [
        (d, ROUND_FILES) for d in sorted(run_dir.iterdir()) if d.is_dir() and ROUND_DIR.fullmatch(d.name)
    ]
    for folder, names in folders:
        for name in names:
            for stale in folder.glob(f".{glob_escape(name)}.*.tmp"):
                logger.info(f"removing unfinished write {stale}")
                stale.unlink()
                removed.append(stale)
    for name in ("report.md.tmp", "report.csv.tmp", "report.png.tmp.png"):
        stale = run_dir / name
        if stale.is_file():
            stale.unlink()
            removed.append(stale)
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob metacharacters escaped."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunDirBusy(ValueError):
    """The run directory is locked by a live process (or one on another host)."""


class RunLock:
    """An exclusive lock on a run directory: ``.lock`` holds the owner's process id, host and start time.

    Raises:
        RunDirBusy: On :meth:`acquire`, when a live process (or one on another host) holds the lock.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK
        self.held = False

    def _owner(self) -> dict[str, Any]:
        try:
            owner = json.loads(self.path.read_text(encoding="utf-8"))
            return owner if isinstance(owner, dict) else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        """Take the lock, or take over a stale one (dead process on this host) with a warning."""
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _attempt in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                pid, host = owner.get("pid"), owner.get("host")
                if host == me["host"] and isinstance(pid, int) and not _alive(pid):
                    logger.warning(f"{self.path}: taking over the lock of process {pid}, which is no longer running")
                    self.path.unlink(missing_ok=True)
                    continue
                if host not in (None, me["host"]):
                    where = f"process {pid} on host {host}"
                elif pid is not None:
                    where = f"process {pid}"
                else:
                    where = "another process (the lock file is being written or unreadable)"
                raise RunDirBusy(
                    f"{self.path.parent} is in use by {where} since {owner.get('started', '?')}: one cringe-loop per "
                    f"run directory. Wait for it to finish, or delete {self.path} if you are sure it is gone."
                ) from None
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(me, handle)
            self.held = True
            return
        raise ValueError(f"{self.path}: could not take the lock")  # pragma: no cover (a race lost twice)

    def release(self) -> None:
        """Remove the lock if this process holds it."""
        if self.held and self._owner().get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
        self.held = False


def sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Manifest:
    """What each finished step of a round wrote and consumed, by SHA-256 (``round_<r>/digests.json``).

    Args:
        folder: The round folder.
        run_dir: The run directory (paths are recorded relative to it).
    """

    def __init__(self, folder: Path, run_dir: Path) -> None:
        self.path = folder / MANIFEST
        self.run_dir = run_dir
        self.entries: dict[str, Any] = read_json(self.path) if self.path.exists() else {}

    def _name(self, path: Path) -> str:
        return str(path.relative_to(self.run_dir)) if path.is_relative_to(self.run_dir) else str(path)

    def record(self, output: Path, inputs: list[Path]) -> None:
        """Record a finished step's output and the inputs it consumed."""
        self.entries[output.name] = {
            "sha256": sha256(output),
            "inputs": {self._name(p): sha256(p) for p in inputs},
        }
        write_json_atomic(self.path, self.entries)

    def check(self, output: Path, inputs: list[Path]) -> None:
        """Refuse a step's output, or its inputs, that changed since the step was done.

        Raises:
            ValueError: The file or an input differs from what was recorded (the message says what to do).
        """
        entry = self.entries.get(output.name)
        if entry is None:
            return  # written by a version of the loop that kept no digests
        if sha256(output) != entry["sha256"]:
            raise ValueError(
                f"{output} changed since its step wrote it (cut short or edited?); restore it, or delete it and the "
                "files of the later steps to redo them"
            )
        for p in inputs:
            recorded = entry["inputs"].get(self._name(p))
            if recorded is not None and (not p.exists() or sha256(p) != recorded):
                raise ValueError(
                    f"{p} changed after {output} was made from it; restore it, or delete {output} and the files of "
                    "the later steps to redo them"
                )
