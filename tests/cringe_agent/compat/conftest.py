"""Shared by the tests of :mod:`cringe_agent.compat`: a fresh interpreter, for checks where import order matters."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

RunPython = Callable[..., subprocess.CompletedProcess]


def _run_python(code: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter without CUDA; kill its whole process group if it hangs.

    Args:
        code: Python source, run with ``python -c``.
        *args: Command-line arguments of ``code`` (``sys.argv[1:]``).
        timeout: Seconds before the test fails and the process group is killed.

    Returns:
        The finished process, with stdout and stderr together in ``stdout``.
    """
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # spawned workers join this group, so a hang can be cleaned up
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"timed out after {timeout} s:\n{output[-4000:]}")
    return subprocess.CompletedProcess(process.args, process.returncode, output, None)


@pytest.fixture
def run_python() -> RunPython:
    """:func:`_run_python`: run code in a fresh interpreter without CUDA."""
    return _run_python
