"""Machinery shared by the fixes of :mod:`cringe_agent.compat`: replacing ParlAI objects, and an import hook.

A fix is a function that takes one ParlAI module and replaces some of its objects with :func:`replace`. It runs when
the module loads (an import hook on ``sys.meta_path``, :class:`FixOnImport`) or at once when the module is already
loaded (:func:`fix_on_import`), so registering fixes imports no ParlAI code. A replaced module-level function is also
replaced in ParlAI modules that imported it by name before. Everything here is idempotent.
"""

from __future__ import annotations

import importlib.abc
import sys
import types
from collections.abc import Callable, Mapping
from importlib.machinery import ModuleSpec
from typing import Any

Fix = Callable[[types.ModuleType], None]
"""A fix of one ParlAI module: it gets the module right after the module's own code ran."""

originals: dict[str, Any] = {}
"""Original ParlAI objects replaced by :func:`replace`, keyed by their dotted path (``module.Class.attr``)."""

fixes: dict[str, Fix] = {}
"""The fix of each ParlAI module, by module name (filled by :func:`fix_on_import`)."""


def _path(owner: Any, name: str) -> str:
    """Dotted path of ``owner.name``, e.g. ``parlai.nn.lr_scheduler.ReduceOnPlateauLRScheduler.__init__``."""
    if isinstance(owner, type):
        return f"{owner.__module__}.{owner.__qualname__}.{name}"
    return f"{owner.__name__}.{name}"


def replace(owner: Any, name: str, new: Any) -> None:
    """Replace ``owner.name`` with ``new`` once; the original stays reachable through :func:`original`.

    Args:
        owner: A module or class of ParlAI.
        name: Attribute to replace.
        new: The replacement.
    """
    old = owner.__dict__[name]
    if old is new:
        return
    originals[_path(owner, name)] = old
    setattr(owner, name, new)
    if isinstance(owner, types.ModuleType):
        # Other ParlAI modules loaded earlier may hold the original through ``from owner import name``.
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("parlai") and getattr(module, name, None) is old:
                setattr(module, name, new)


def original(path: str) -> Any:
    """The ParlAI object that :func:`replace` replaced at ``path`` (a dotted path, see :data:`originals`)."""
    return originals[path]


class FixingLoader(importlib.abc.Loader):
    """Runs a module's fix right after the module's own code; everything else goes to the wrapped loader."""

    def __init__(self, loader: importlib.abc.Loader, fix: Fix) -> None:
        self._loader = loader
        self._fix = fix

    def create_module(self, spec: ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        self._fix(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class FixOnImport(importlib.abc.MetaPathFinder):
    """Finds the modules named in :data:`fixes` with the other finders and hands back a spec that fixes them."""

    def find_spec(self, fullname: str, path: Any, target: types.ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in fixes:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = FixingLoader(spec.loader, fixes[fullname])
                return spec
        return None


def fix_on_import(module_fixes: Mapping[str, Fix]) -> None:
    """Fix each named ParlAI module when it loads, or at once when it is already loaded; harmless to call again.

    Args:
        module_fixes: The fix of each ParlAI module, by module name (e.g. ``parlai.nn.lr_scheduler``).
    """
    fixes.update(module_fixes)
    if not any(isinstance(finder, FixOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, FixOnImport())
    for name, fix in module_fixes.items():
        if name in sys.modules:
            fix(sys.modules[name])
