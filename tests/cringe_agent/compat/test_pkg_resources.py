"""Tests of :mod:`cringe_agent.compat.pkg_resources`: ParlAI imports and finds its presets without pkg_resources.

``pkg_resources`` must be replaced before ParlAI loads, so the check runs in a fresh interpreter.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

_PKG_RESOURCES_GONE = """
import json, sys
sys.modules["pkg_resources"] = None  # as with setuptools>=81, which no longer ships it
import cringe_agent.compat  # noqa: F401
from parlai.core.opt import Opt  # parlai/core/opt.py imports pkg_resources
import pkg_resources
try:
    Opt.load_init("no_such_preset")  # looks for a bundled preset through pkg_resources
    preset_error = None
except FileNotFoundError as error:
    preset_error = type(error).__name__
print(json.dumps({
    "exists": pkg_resources.resource_exists("parlai", "opt_presets/README.md"),
    "missing": pkg_resources.resource_exists("parlai", "opt_presets/no_such_file.opt"),
    "filename": pkg_resources.resource_filename("parlai", "opt_presets/README.md"),
    "preset_error": preset_error,
}))
"""


@pytest.mark.integration
def test_pkg_resources_stand_in_lets_parlai_import(run_python) -> None:
    result = run_python(_PKG_RESOURCES_GONE)
    assert result.returncode == 0, result.stdout[-4000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["exists"] is True
    assert found["missing"] is False
    assert Path(found["filename"]).is_file()
    assert found["preset_error"] == "FileNotFoundError"
