"""Where the study's figures went: each chapter's module in :mod:`qrnn_study.chapters` draws its own.

The plot style and colours are in :mod:`qrnn_study.style`. This module only forwards the names
that modules and tests outside the chapters still import from here (the runtime chapter's plots,
the add-your-method comparison, the colours), each resolved from its owner on first use.
"""

from __future__ import annotations

import importlib

_OWNERS = {
    "plot_update_times": "qrnn_study.chapters.runtime",
    "plot_scaling": "qrnn_study.chapters.runtime",
    "compare_runs_figure": "qrnn_study.chapters.add_your_method",
    "method_color": "qrnn_study.style",
    "use_style": "qrnn_study.style",
}


def __getattr__(name: str) -> object:
    """The name from the module that owns it (``AttributeError`` for a name this module never forwarded)."""
    if name not in _OWNERS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}; chapters own their figures")
    return getattr(importlib.import_module(_OWNERS[name]), name)
