"""The library's docstring examples run: ``doctest`` over every ``qrnn_core`` module."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import qrnn_core

MODULES = sorted(
    info.name for info in pkgutil.iter_modules(qrnn_core.__path__, "qrnn_core.") if info.name != "qrnn_core.__main__"
)
# The public API that must carry an example (Google style: Args / Returns / Raises, and Example).
WITH_EXAMPLES = {
    "qrnn_core.simulate": ["simulate"],
    "qrnn_core.circuit": ["angles_per_step", "build_circuit"],
    "qrnn_core.model": ["QRNN", "QRNNConfig"],
    "qrnn_core.estimators": ["register", "method_spec", "method_names"],
    "qrnn_core.backends": ["register", "backend_spec", "backend_names", "cuda_available"],
    "qrnn_core.data": ["register_source", "data_source", "source_names", "load_lorenz"],
    "qrnn_core.training": ["train", "TrainConfig"],
}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, report=True)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed"


@pytest.mark.parametrize("module, names", WITH_EXAMPLES.items())
def test_public_api_has_examples(module, names):
    loaded = importlib.import_module(module)
    for name in names:
        assert ">>> " in (getattr(loaded, name).__doc__ or ""), f"{module}.{name} has no example"
