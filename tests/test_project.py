"""The project installs and describes itself consistently: lock file, environment.yml, style, protocol sizes."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from packaging.requirements import Requirement

from qrnn_core import protocol, provenance
from qrnn_core.data import LorenzConfig, make_windows

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / provenance.LOCK_FILE
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _tool():
    """tools/environment_from_lock.py, imported from its file (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("environment_from_lock", ROOT / "tools" / "environment_from_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _requirements() -> list[Requirement]:
    project = PYPROJECT["project"]
    extras = [r for group in project.get("optional-dependencies", {}).values() for r in group]
    return [Requirement(r) for r in project["dependencies"] + extras]


def test_lock_pins_every_dependency_within_pyprojects_ranges():
    pins = _tool().locked_pins(LOCK.read_text())
    for requirement in _requirements():
        name = requirement.name.lower()
        if name == "torch":
            assert name not in pins, "torch is installed apart from the lock (the CPU wheel), never from it"
            continue
        assert name in pins, f"{name} is in pyproject.toml but not in {LOCK.name}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={pins[name]}, outside pyproject.toml's {requirement}: run `make lock`"
        )


def test_lock_has_a_hash_for_every_pin():
    text = LOCK.read_text()
    hashed = re.findall(r"^([A-Za-z0-9][\w.-]*)==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", text, flags=re.MULTILINE)
    pins = _tool().locked_pins(text)
    assert len(pins) > 50 and sorted(name.lower() for name in hashed) == sorted(pins)


def test_environment_yml_is_the_lock():
    tool = _tool()
    expected = tool.environment_yml(LOCK.read_text(), (ROOT / "pyproject.toml").read_text(), LOCK.name)
    assert (ROOT / "environment.yml").read_text() == expected, "environment.yml is out of date: run `make lock`"


def test_environment_yml_writer_pins_torch_and_python(tmp_path):
    tool = _tool()
    lock = "# with Python 3.11\nnumpy==2.0.1 \\\n    --hash=sha256:00\n    # via x\nscipy==1.14.0 \\\n"
    pyproject = '[project]\ndependencies = ["torch==2.13.0", "numpy>=1.26"]\n'
    text = tool.environment_yml(lock, pyproject)
    assert "  - python=3.11\n" in text
    assert text.endswith("      - torch==2.13.0\n      - numpy==2.0.1\n      - scipy==1.14.0\n")
    with pytest.raises(ValueError, match="torch"):
        tool.environment_yml(lock, '[project]\ndependencies = ["torch>=2"]\n')
    with pytest.raises(ValueError, match="Python"):
        tool.environment_yml("numpy==2.0.1\n", pyproject)


def test_torch_is_pinned():
    assert "torch==2.13.0" in PYPROJECT["project"]["dependencies"]


def test_makefile_installs_from_the_lock_and_has_a_fast_suite():
    out = subprocess.run(
        ["make", "-n", "-W", "pyproject.toml", "setup", "test-fast"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--no-deps --require-hashes -r requirements.lock" in out
    assert "--no-deps torch==2.13.0" in out and "pip check" in out
    assert '-m pytest -m "not slow and not browser"' in out


def test_lock_hash_is_the_sha256_of_the_lock_file():
    assert provenance.lock_hash(ROOT) == hashlib.sha256(LOCK.read_bytes()).hexdigest()
    assert provenance.lock_hash(ROOT / "tests") is None


def test_provenance_records_versions_lock_commit_and_device():
    record = provenance.provenance({"seed": 7, "lr": 0.1})
    assert record["seed"] == 7 and record["config"] == {"seed": 7, "lr": 0.1}
    assert record["versions"]["torch"].startswith("2.13.0") and record["versions"]["python"]
    assert record["lock_hash"] == provenance.lock_hash() and len(record["lock_hash"]) == 64
    assert record["device"]["cores"] >= 1 and record["device"]["cuda_device"] is None
    assert provenance.provenance({"seed": 7}, seed=3)["seed"] == 3


def test_protocol_sizes_are_what_the_data_yields():
    config = LorenzConfig()
    windows = make_windows(np.zeros((config.n_points, 3)), config)
    assert windows["train_inputs"].shape[:2] == (protocol.TRAIN_WINDOWS, protocol.SEQ_LEN)
    assert windows["val_inputs"].shape[1] == protocol.VALIDATION_STEPS


def test_ci_calls_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test" in ci and "make test" in readme and "make book" in readme


def test_package_imports_in_a_fresh_interpreter():
    code = "import qrnn_core; print(qrnn_core.angles_per_step(8), qrnn_core.simulate([[[0.0] * 55]]).shape)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split()[0] == "55" and "torch.Size([1, 1, 16])" in out


def test_no_formatter_escapes():
    """Long lines are shortened, not hidden from the formatter (ruff's line length is 120)."""
    marker = "fmt: " + "skip"
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("qrnn_core", "qrnn_study", "tests", "tools")
        for path in sorted((ROOT / folder).glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if marker in line
    ]
    assert not found, f"{len(found)} '# {marker}' markers: {', '.join(found[:10])}"
