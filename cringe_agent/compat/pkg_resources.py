"""Fix of ``import parlai`` without ``pkg_resources``, which setuptools>=81 no longer ships.

Mends ``parlai/core/opt.py:18`` (ParlAI 1.7.2): the module imports ``pkg_resources`` and calls
``resource_exists`` / ``resource_filename`` (``opt.py:168-170``) to find bundled option presets (``Opt.load_init``).
When ``pkg_resources`` cannot be found, a stand-in module with those two functions, built on ``importlib.resources``,
goes into ``sys.modules``. :func:`cringe_agent.compat.apply` runs this before anything of ParlAI is imported.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import sys
import types


def _resource_exists(package: str, resource_name: str) -> bool:
    """``pkg_resources.resource_exists``: whether ``resource_name`` exists inside ``package``."""
    path = importlib.resources.files(package).joinpath(resource_name)
    return path.is_file() or path.is_dir()


def _resource_filename(package: str, resource_name: str) -> str:
    """``pkg_resources.resource_filename``: the file system path of ``resource_name`` inside ``package``."""
    return str(importlib.resources.files(package).joinpath(resource_name))


def install_stand_in() -> None:
    """Put the stand-in into ``sys.modules`` unless ``pkg_resources`` is imported or installed; harmless to repeat."""
    if sys.modules.get("pkg_resources") is not None:
        return  # already imported (the real module or this stand-in)
    if "pkg_resources" not in sys.modules and importlib.util.find_spec("pkg_resources") is not None:
        return  # installed: ParlAI imports the real module
    stand_in = types.ModuleType("pkg_resources", "Stand-in for the parts of pkg_resources that ParlAI uses.")
    stand_in.resource_exists = _resource_exists  # type: ignore[attr-defined]
    stand_in.resource_filename = _resource_filename  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = stand_in
