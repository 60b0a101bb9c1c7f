"""The study's notebooks and configurations: committed clean, parameterized, and failing loudly on bad input."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from qrnn_core.training import TrainConfig
from qrnn_study import plan as planning
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


def _references(notebook: nbformat.NotebookNode) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The ``from qrnn_... import name`` pairs of a notebook's code, and the ``alias.attribute`` uses of those names."""
    imports, uses, modules = [], [], {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qrnn_"):
                for alias in node.names:
                    imports.append((node.module, alias.name))
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules:
                uses.append((modules[node.value.id], node.attr))
    return imports, uses


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_names_only_what_the_study_defines(path):
    """Every ``from qrnn_... import x`` and every ``x.attribute`` of an imported module exists (no execution)."""
    imports, uses = _references(nbformat.read(path, as_version=4))
    for module, name in imports:
        owner = importlib.import_module(module)
        assert hasattr(owner, name) or importlib.util.find_spec(f"{module}.{name}"), f"{path.name}: {module}.{name}"
    for qualified, attribute in uses:
        try:
            owner = importlib.import_module(qualified)
        except ModuleNotFoundError:
            continue  # a class or function, not a module: its attributes are not checked here
        assert hasattr(owner, attribute), f"{path.name}: {qualified}.{attribute} does not exist"


def _is_size(value: object) -> bool:
    """A setting that sizes the work (a count, a list of sizes, a search space), not a choice (a name, a switch)."""
    return isinstance(value, (int, float, list, dict)) and not isinstance(value, bool)


@pytest.mark.parametrize("chapter", study.chapter_names("smoke", ROOT))
def test_smoke_book_runs_each_notebook_with_its_defaults(chapter):
    """The smoke book (``make runs PROFILE=smoke``) executes each chapter with its own defaults but for sizes.

    So its execution is the check that a notebook's defaults run (no notebook is re-executed here): the
    smoke config may shrink counts, lists and search spaces, never change a name or a switch.
    """
    defaults = planning.notebook_parameters(ROOT / "notebooks" / f"{chapter}.ipynb")
    config = yaml.safe_load((ROOT / "configs" / "smoke" / f"{chapter}.yaml").read_text()) or {}
    settings = {k: v for k, v in config.items() if k not in planning.CHAPTER_KEYS}
    assert set(settings) <= set(defaults), f"configs/smoke/{chapter}.yaml sets what the notebook does not take"
    shrunk = {k for k, v in settings.items() if _is_size(v) and (defaults[k] is None or _is_size(defaults[k]))}
    changed = {k for k, v in settings.items() if defaults[k] != v and k not in shrunk}  # None: all, a size too
    assert not changed, f"the smoke book runs {chapter} with other choices than its defaults: {changed}"
