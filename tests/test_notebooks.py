"""The study's notebooks and configurations: committed clean, parameterized, and failing loudly on bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from qrnn_core.training import TrainConfig
from qrnn_study import study

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs_and_has_one_parameters_cell(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), f"{path.name} carries outputs"
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"


@pytest.mark.parametrize("profile", study.PROFILES)
def test_profile_configures_every_chapter_and_valid_runs(profile):
    chapters = study.chapter_names(profile, ROOT)
    assert chapters == study.chapter_names("quick", ROOT), "every profile configures the same chapters"
    toc = (ROOT / "book" / "_toc.yml").read_text()
    for chapter in chapters:
        assert (ROOT / "notebooks" / f"{chapter}.ipynb").is_file(), f"configs/{profile}/{chapter}.yaml has no notebook"
        assert f"generated/{chapter}\n" in toc, f"chapter {chapter} is missing from book/_toc.yml"
    runs = study.run_configs(profile, ROOT)
    methods = {(p["method"], p["device"]) for p in runs.values()}
    assert {("spsa", "cpu"), ("fdsa", "cpu"), ("spsa", "cuda"), ("fdsa", "cuda"), ("exact", "cpu")} <= methods
    for name, params in runs.items():
        assert params.pop("run_label"), f"{profile}/{name} needs a run_label"
        params.pop("sweep", None)  # names the sweep a run belongs to; not a training parameter
        params.pop("skip_unavailable", None)  # what to do without the device; not a training parameter
        TrainConfig(**params)  # raises ValueError on a bad value


def test_paper_profile_is_the_papers_protocol():
    for name, params in study.run_configs("paper", ROOT).items():
        if params.get("sweep"):
            continue  # a sweep varies the seed, the shots or the trajectory on purpose
        assert params["epochs"] == 10 and params["n_train"] is None and params["val_length"] is None, name
        assert params["seed"] == 1920 and params["epsilon"] == 0.1 and params["spsa_samples"] == 2, name
        assert params["lr"] == {"spsa": 0.007, "fdsa": 0.001}.get(params["method"], params["lr"]), name
        if params["method"] in ("spsa", "fdsa"):
            assert params["shots"] in (1024, 1536), name


def papermill_args(notebook: Path, output: Path, cwd: Path) -> list[str]:
    """The papermill command that executes ``notebook`` into ``output`` with the project's kernel in ``cwd``."""
    command = [sys.executable, "-m", "papermill", "--kernel", "python3", "--cwd", str(cwd), "--no-progress-bar"]
    return [*command, str(notebook), str(output)]


def run_train_notebook(tmp_path: Path, **parameters) -> subprocess.CompletedProcess:
    """Execute notebooks/train.ipynb with papermill the way the Makefile does."""
    args = papermill_args(ROOT / "notebooks" / "train.ipynb", tmp_path / "out.ipynb", tmp_path)
    args += ["-r", "out_dir", str(tmp_path / "run")]
    for key, value in parameters.items():
        args += ["-y", yaml.safe_dump({key: value})]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # each case executes the training notebook with papermill
@pytest.mark.parametrize(
    "parameters, message",
    [({"method": "adam"}, "method 'adam'"), ({"epochs": -1}, "epochs must be an integer >= 0, got -1")],
    ids=["unknown-method", "negative-epochs"],
)
def test_bad_parameter_fails_with_a_clear_message(tmp_path, parameters, message):
    done = run_train_notebook(tmp_path, **parameters)
    assert done.returncode != 0
    assert "ValueError" in done.stderr and message in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "run").exists(), "nothing is written before the parameters are checked"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_from_the_notebooks_folder_with_its_defaults(smoke_tree, tmp_path, path):
    """Opened in JupyterLab from notebooks/ and run top to bottom: no parameters, smoke scale, nothing written there.

    Runs in the smoke book's tree (tests/conftest.py), whose build/smoke/ holds the runs the chapters read.
    """
    folder = smoke_tree / "notebooks"
    before = sorted(folder.rglob("*"))
    args = papermill_args(folder / path.name, tmp_path / path.name, folder)
    env = os.environ | {"PYTHONPATH": str(smoke_tree), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(folder.rglob("*")) == before, "the notebook wrote inside notebooks/"
