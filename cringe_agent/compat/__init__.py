"""Smallest fixes that let ParlAI 1.7.2 run on torch 2.13 / Python 3.11, applied once when this package is imported.

Each fix changes ParlAI's own objects (never torch's) and only where the stack needs it; one module per fix, each
naming the ParlAI lines it mends:

- :mod:`~cringe_agent.compat.lr_scheduler`: ``--lr-scheduler reduceonplateau`` (ParlAI's default) passes
  ``verbose=True`` to torch's ``ReduceLROnPlateau``, a keyword current torch removed.
- :mod:`~cringe_agent.compat.pkg_resources`: ``import parlai`` needs ``pkg_resources``, which setuptools>=81 no
  longer ships; a stand-in goes into ``sys.modules`` before anything of ParlAI is imported.
- :mod:`~cringe_agent.compat.distributed`: ``multiprocessing_train`` without CUDA (CPU workers over ``gloo``).
- :mod:`~cringe_agent.compat.bytelevel_decode`: a sampled reply of a byte-level BPE model whose first token has no
  leading space fails an assertion in ParlAI's ``BPEHelper.decode``.

:mod:`~cringe_agent.compat._hooks` holds the machinery: ParlAI modules are fixed when they load (an import hook on
``sys.meta_path``) or at once when they are already loaded. So importing this package imports no ParlAI code and
stays cheap. Modules that need the fixes import it first (``from cringe_agent import compat  # noqa: F401``).
:func:`apply` is idempotent.
"""

from __future__ import annotations

from cringe_agent.compat import _hooks, bytelevel_decode, distributed, lr_scheduler, pkg_resources
from cringe_agent.compat.distributed import multiprocess_train

__all__ = ["apply", "multiprocess_train"]


def apply() -> None:
    """Apply every fix; harmless to call again."""
    pkg_resources.install_stand_in()
    _hooks.fix_on_import({**lr_scheduler.FIXES, **distributed.FIXES, **bytelevel_decode.FIXES})


apply()
