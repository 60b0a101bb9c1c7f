"""The study pipeline: sweep expansion, the task plan, and its two executors (Make and Dask)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import copy_tree

from qrnn_core.backends import cuda_available
from qrnn_study import makefile, manifest, projection, study
from qrnn_study import plan as planning

ROOT = Path(__file__).resolve().parents[1]


def write_profile(
    root: Path, sweeps: dict[str, object], runs: dict[str, dict] | None = None, profile: str = "smoke"
) -> Path:
    """A minimal repository layout under ``root`` with the given sweep and run files."""
    config_dir = root / "configs" / profile
    (config_dir / "train").mkdir(parents=True, exist_ok=True)
    (config_dir / "sweeps").mkdir(parents=True, exist_ok=True)
    for name, params in (runs or {}).items():
        (config_dir / "train" / f"{name}.yaml").write_text(yaml.safe_dump(params))
    for name, spec in sweeps.items():
        (config_dir / "sweeps" / f"{name}.yaml").write_text(spec if isinstance(spec, str) else yaml.safe_dump(spec))
    (root / "notebooks").mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "notebooks" / "train.ipynb", root / "notebooks" / "train.ipynb")
    return root


SEEDS = {
    "base": {"epochs": 2, "n_train": 1, "lr": 0.007},
    "cases": [
        {"method": "spsa", "shots": 1024, "run_label": "SPSA"},
        {"method": "exact", "shots": None, "run_label": "exact"},
    ],
    "grid": {"seed": [1, 2, 3]},
    "name": "{method}-s{seed}",
}


def test_sweep_expands_cases_crossed_with_the_grid(tmp_path):
    write_profile(tmp_path, {"seeds": SEEDS}, runs={"exact-cpu": {"method": "exact", "seed": 5}})
    runs = study.run_configs("smoke", tmp_path)
    assert list(runs) == ["exact-cpu", *(f"seeds-{m}-s{s}" for m in ("spsa", "exact") for s in (1, 2, 3))]
    assert runs["seeds-spsa-s2"] == {
        "epochs": 2,
        "n_train": 1,
        "lr": 0.007,
        "method": "spsa",
        "shots": 1024,
        "run_label": "SPSA",
        "seed": 2,
        "sweep": "seeds",
    }
    assert runs["exact-cpu"] == {"method": "exact", "seed": 5}, "plain runs carry no sweep"


def test_none_reads_none_in_run_names(tmp_path):
    runs = study.run_configs("smoke", write_profile(tmp_path, {"s": SEEDS | {"name": "{method}-{shots}-{seed}"}}))
    assert "s-exact-none-1" in runs and runs["s-exact-none-1"]["shots"] is None


def test_grid_overrides_case_overrides_base(tmp_path):
    spec = {"base": {"lr": 1, "seed": 0}, "cases": [{"lr": 2, "seed": 9}], "grid": {"seed": [7]}, "name": "r{seed}"}
    runs = study.run_configs("smoke", write_profile(tmp_path, {"s": spec}))
    assert runs == {"s-r7": {"lr": 2, "seed": 7, "sweep": "s"}}


def test_sweep_without_cases_or_grid_is_one_run(tmp_path):
    runs = study.run_configs("smoke", write_profile(tmp_path, {"one": {"base": {"seed": 3}, "name": "s{seed}"}}))
    assert runs == {"one-s3": {"seed": 3, "sweep": "one"}}


def test_load_profile_returns_sweep_runs_like_any_other(tmp_path):
    write_profile(tmp_path, {"seeds": SEEDS})
    loaded = study.load_profile("smoke", tmp_path)
    assert [run.name for run in loaded] == list(study.run_configs("smoke", tmp_path))
    assert {run.params["sweep"] for run in loaded} == {"seeds"}
    assert all(
        run.run_dir == tmp_path / "build" / "smoke" / "runs" / run.name and run.status == "missing" for run in loaded
    )


@pytest.mark.parametrize(
    "spec, message",
    [
        (SEEDS | {"seeds": [1]}, "unknown key(s) 'seeds'"),
        (SEEDS | {"name": "{method}"}, "run name 'bad-spsa' is produced twice"),
        (SEEDS | {"name": "{method}-{lr}-{seed}"}, "run name 'bad-spsa-0.007-1' is not allowed"),
        (SEEDS | {"name": "{method}-{missing}"}, "cannot be filled"),
        (SEEDS | {"name": None}, "'name' must be a run-name template"),
        (SEEDS | {"grid": {"seed": []}}, "'grid' must map parameters to non-empty lists"),
        (SEEDS | {"cases": {"method": "spsa"}}, "'cases' must be a list"),
        (SEEDS | {"base": [1]}, "'base' must be a mapping"),
        (SEEDS | {"base": {"sweep": "x"}}, "base sets sweep"),
        (SEEDS | {"cases": [{"out_dir": "x"}]}, "cases[0] sets out_dir"),
        ("- 1\n- 2\n", "must be a mapping"),
    ],
    ids=[
        "unknown-key",
        "duplicate-name",
        "bad-characters",
        "missing-field",
        "no-template",
        "empty-grid",
        "cases-not-list",
        "base-not-mapping",
        "reserved-sweep",
        "reserved-out-dir",
        "not-a-mapping",
    ],
)
def test_bad_sweep_raises_naming_the_file_and_the_entry(tmp_path, spec, message):
    write_profile(tmp_path, {"bad": spec})
    with pytest.raises(ValueError, match="sweep file .*bad.yaml") as error:
        study.run_configs("smoke", tmp_path)
    assert message in str(error.value)


def test_sweep_run_may_not_reuse_a_plain_run_name(tmp_path):
    write_profile(tmp_path, {"seeds": SEEDS}, runs={"seeds-spsa-s1": {"method": "spsa"}})
    with pytest.raises(ValueError, match="'seeds-spsa-s1' is already used"):
        study.run_configs("smoke", tmp_path)


def test_bad_sweep_file_name_is_rejected(tmp_path):
    write_profile(tmp_path, {"Seeds": SEEDS})
    with pytest.raises(ValueError, match="run name 'Seeds' is not allowed"):
        study.run_configs("smoke", tmp_path)


def test_committed_sweeps_expand():
    for profile in study.PROFILES:
        for name, params in study.run_configs(profile, ROOT).items():
            assert study.RUN_NAME.fullmatch(name), name
            assert params.get("sweep") is None or name.startswith(params["sweep"] + "-"), name


# ---------------------------------------------------------------- the plan (no notebook runs)


def chapter_repo(root: Path, chapters: dict[str, dict]) -> Path:
    """A repository with two plain runs, one sweep and the given chapter configurations."""
    write_profile(
        root,
        {"seeds": SEEDS | {"cases": SEEDS["cases"][:1], "grid": {"seed": [1]}}},
        runs={"exact-cpu": {"method": "exact", "seed": 5}, "spsa-cpu": {"method": "spsa", "seed": 5}},
    )
    for name, values in chapters.items():
        (root / "configs" / "smoke" / f"{name}.yaml").write_text(yaml.safe_dump(values))
        params = {k: v for k, v in values.items() if k not in ("depends_on", "inputs", "exclusive")}
        nbformat.write(chapter_notebook(params), root / "notebooks" / f"{name}.ipynb")
    return root


CHAPTERS = {
    "summary": {"depends_on": ["accuracy"], "inputs": ["extra.json"]},
    "accuracy": {"digits": 3},
    "runtime": {"exclusive": True, "quick": True},
}
RUNS = ["train/exact-cpu", "train/spsa-cpu", "train/seeds-spsa-s1"]


def test_plan_orders_runs_chapters_and_the_exclusive_chapter_last(tmp_path):
    plan = planning.build_plan("smoke", chapter_repo(tmp_path, CHAPTERS))
    by_name = {task.name: task for task in plan}
    assert [task.name for task in plan] == [*RUNS, "chapters/accuracy", "chapters/summary", "chapters/runtime"]
    assert by_name["chapters/accuracy"].deps == tuple(RUNS)
    assert by_name["chapters/summary"].deps == (*RUNS, "chapters/accuracy")
    assert set(by_name["chapters/runtime"].deps) == set(by_name) - {"chapters/runtime"}
    assert by_name["chapters/runtime"].exclusive and not any(t.exclusive for t in plan[:-1])
    assert "extra.json" in by_name["chapters/summary"].inputs
    assert by_name["chapters/accuracy"].params == {"digits": 3, "profile": "smoke"}, (
        "pipeline keys are not notebook parameters"
    )
    run = by_name["train/seeds-spsa-s1"]
    assert run.params["out_dir"] == "build/smoke/runs/seeds-spsa-s1" and run.params["sweep"] == "seeds"
    assert run.clean == ("build/smoke/runs/seeds-spsa-s1",) and run.output == "build/smoke/train/seeds-spsa-s1.ipynb"
    assert {"build/smoke/params/train/seeds-spsa-s1.yaml", "notebooks/train.ipynb"} <= set(run.inputs)


def test_exclusive_chapters_run_one_after_another_in_dependency_order(tmp_path):
    chapters = {
        "accuracy": {},
        "alpha": {"exclusive": True, "depends_on": ["runtime", "accuracy"]},
        "runtime": {"exclusive": True},
    }
    plan = planning.build_plan("smoke", chapter_repo(tmp_path, chapters))
    assert [task.name for task in plan][-3:] == ["chapters/accuracy", "chapters/runtime", "chapters/alpha"]
    assert plan[-1].deps == (*RUNS, "chapters/accuracy", "chapters/runtime")
    assert "chapters/alpha" not in plan[-2].deps


@pytest.mark.parametrize(
    "chapters, message",
    [
        ({"a": {"depends_on": ["nope"]}}, "depends_on must be a list of other chapters"),
        ({"a": {"depends_on": ["b"]}, "b": {"depends_on": ["a"]}}, "cycle"),
        ({"a": {"depends_on": ["b"]}, "b": {"exclusive": True}}, "exclusive"),
        ({"a": {"exclusive": "yes"}}, "exclusive must be true or false"),
        ({"a": {"inputs": "x.json"}}, "inputs must be a list"),
    ],
    ids=["unknown-chapter", "cycle", "needs-exclusive", "exclusive-not-bool", "inputs-not-list"],
)
def test_bad_chapter_dependencies_are_rejected(tmp_path, chapters, message):
    with pytest.raises(ValueError, match=message):
        planning.build_plan("smoke", chapter_repo(tmp_path, chapters))


@pytest.mark.parametrize(
    "runs, chapters, message",
    [
        (
            {"spsa-cpu": {"method": "spsa", "epoch": 3}},
            {},
            "configs/smoke/train/spsa-cpu.yaml: unknown key 'epoch'; did you mean 'epochs'",
        ),
        (
            {"spsa-cpu": {"method": "spsa", "shots": "many"}},
            {},
            "spsa-cpu.yaml: key 'shots' has value 'many' of type str; expected int",
        ),
        ({"spsa-cpu": {"method": "spsa", "epochs": -1}}, {}, "spsa-cpu.yaml: epochs must be"),
        (
            {},
            {"accuracy": {"depend_on": ["x"]}},
            "configs/smoke/accuracy.yaml: unknown key 'depend_on'; did you mean 'depends_on'",
        ),
    ],
    ids=["typo", "wrong-type", "bad-value", "chapter-typo"],
)
def test_bad_configs_are_refused_when_the_plan_is_built(tmp_path, runs, chapters, message):
    root = chapter_repo(tmp_path, {"accuracy": {"digits": 3}})
    for name, params in runs.items():
        (root / "configs" / "smoke" / "train" / f"{name}.yaml").write_text(yaml.safe_dump(params))
    for name, values in chapters.items():
        (root / "configs" / "smoke" / f"{name}.yaml").write_text(yaml.safe_dump(values))
    with pytest.raises(ValueError, match=re.escape(message)):
        planning.build_plan("smoke", root)
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-m", "qrnn_study.pipeline", "makefile", "smoke"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and message in done.stderr and not (root / "build" / "smoke" / "plan.mk").exists()


def test_parameter_files_are_rewritten_only_when_their_content_changes(tmp_path):
    root = chapter_repo(tmp_path, CHAPTERS)
    planning.write_params(planning.build_plan("smoke", root), root)
    path = root / "build/smoke/params/train/exact-cpu.yaml"
    assert yaml.safe_load(path.read_text()) == {"method": "exact", "seed": 5, "out_dir": "build/smoke/runs/exact-cpu"}
    os.utime(path, (1, 1))
    (root / "configs/smoke/train/exact-cpu.yaml").write_text("# a comment changes nothing\nmethod: exact\nseed: 5\n")
    planning.write_params(planning.build_plan("smoke", root), root)
    assert path.stat().st_mtime == 1
    (root / "configs/smoke/train/exact-cpu.yaml").write_text("method: exact\nseed: 6\n")
    planning.write_params(planning.build_plan("smoke", root), root)
    assert path.stat().st_mtime > 1 and yaml.safe_load(path.read_text())["seed"] == 6


def fake_build(root: Path) -> list[planning.Task]:
    """Build ``chapter_repo(root, CHAPTERS)`` without running anything: every input, output and manifest.

    Each task writes one file into its folder (a run's ``result.json``, a chapter's ``table.csv``) and
    its notebook, is sealed as plan.mk's rule does, and its notebook is newer than every input.
    """
    for path in ["book/paper_reported.json", "extra.json"]:  # the notebooks are chapter_repo's
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("{}")
    plan = planning.build_plan("smoke", root)
    planning.write_params(plan, root)
    assert planning.stale_tasks(plan, root) == {task.name for task in plan}, "nothing built yet"
    for i, task in enumerate(plan):  # outputs newer than every input, in dependency order
        (root / task.folder).mkdir(parents=True, exist_ok=True)
        (root / task.folder / ("result.json" if task.is_run else "table.csv")).write_text(f"{task.name}\n")
        (root / task.output).parent.mkdir(parents=True, exist_ok=True)
        (root / task.output).write_text("{}")
        manifest.seal(task.folder, task.output, task.prerequisites, root)
        os.utime(root / task.output, (1e9 + i, 1e9 + i))
    for task in plan:
        for path in task.inputs:
            os.utime(root / path, (1e8, 1e8))
    return plan


def test_stale_tasks_follow_makes_rule(tmp_path):
    root = chapter_repo(tmp_path, CHAPTERS)
    plan = fake_build(root)
    assert planning.stale_tasks(plan, root) == set()
    os.utime(root / "extra.json", (2e9, 2e9))  # an extra input of one chapter: it and what runs after it
    assert planning.stale_tasks(plan, root) == {"chapters/summary", "chapters/runtime"}
    os.utime(root / "extra.json", (1e8, 1e8))
    (root / "build/smoke/train/spsa-cpu.ipynb").unlink()  # a run: it and every chapter
    assert planning.stale_tasks(plan, root) == {
        "train/spsa-cpu",
        "chapters/accuracy",
        "chapters/summary",
        "chapters/runtime",
    }


def test_makefile_rules_carry_the_plans_prerequisites(tmp_path):
    root = chapter_repo(tmp_path, CHAPTERS)
    plan = planning.build_plan("smoke", root)
    text = makefile.makefile_text(plan, "smoke")
    by_name = {task.name: task for task in plan}
    rules = {
        line.split(":", 1)[0]: line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("build/")
    }
    for task in plan:
        assert rules[task.output] == [*task.inputs, *(by_name[dep].output for dep in task.deps)], task.name
    assert "OMP_NUM_THREADS=$$(nproc) QRNN_EXECUTOR=make" in text and "OMP_NUM_THREADS=1 QRNN_EXECUTOR=make" in text
    assert "mv build/smoke/train/.exact-cpu.tmp.ipynb build/smoke/train/exact-cpu.ipynb" in text
    seal = "$(PY) -m qrnn_study.manifest seal build/smoke/runs/exact-cpu build/smoke/train/exact-cpu.ipynb $^"
    assert f"\tmv build/smoke/train/.exact-cpu.tmp.ipynb build/smoke/train/exact-cpu.ipynb\n\t{seal}\n" in text


def test_select_keeps_what_the_chosen_tasks_need(tmp_path):
    plan = planning.build_plan("smoke", chapter_repo(tmp_path, CHAPTERS))
    assert [t.name for t in planning.select(plan, ["train/*"])] == RUNS
    assert [t.name for t in planning.select(plan, ["chapters/summary"])] == [
        *RUNS,
        "chapters/accuracy",
        "chapters/summary",
    ]
    with pytest.raises(ValueError, match="no task matches"):
        planning.select(plan, ["train/none"])


def test_makespan_puts_the_longest_run_first_and_never_goes_below_it():
    assert projection.makespan([5, 4, 3, 3, 3], 2) == 10  # longest first: {5, 3} {4, 3, 3}
    assert projection.makespan([10, 1, 1], 16) == 10
    assert projection.makespan([2, 2, 2], 1) == 6
    with pytest.raises(ValueError, match="workers must be an integer >= 1, got 0"):
        projection.makespan([1], 0)


BENCH = {
    "config": {"shots": 1024, "threads": 1},
    "provenance": {"device": {"cpu": "test CPU", "load_average": [0.5, 0.5, 0.5]}},
    "updates": [
        {"path": "torch-shots", "method": "spsa", "status": "measured", "median_s": 0.5},
        {"path": "torch", "method": "exact", "status": "measured", "median_s": 0.25},
        {"path": "torch-cuda", "method": "spsa", "status": "not available", "reason": "no CUDA device"},
    ],
    "validation": [
        {"path": "torch-shots", "steps": 40, "median_s": 2.0},
        {"path": "torch", "steps": 80, "median_s": 2.0},
    ],
    "targets": {},
    "noise": {},
    "aer_check": None,
    "epoch_definition": "3 weight updates + one validation pass",
    "wall_seconds": 1.0,
    "load_average_end": None,
}


def test_projection_counts_updates_and_validation_passes(tmp_path):
    root = write_profile(
        tmp_path,
        {},
        runs={
            "spsa-cpu": {"method": "spsa", "shots": 1024, "epochs": 2, "n_train": 3, "val_length": 40},
            "exact-cpu": {
                "method": "exact",
                "shots": None,
                "epochs": 1,
                "n_train": 4,
                "batch_size": 2,
                "val_length": 40,
            },
            "spsa-gpu": {"method": "spsa", "shots": 1024, "device": "cuda", "epochs": 1},
        },
    )
    rows = {row["run"]: row for row in projection.project_runs(planning.build_plan("smoke", root), BENCH)}
    assert rows["spsa-cpu"]["updates"] == 6 and rows["spsa-cpu"]["seconds"] == pytest.approx(6 * 0.5 + 3 * 2.0)
    assert rows["exact-cpu"]["updates"] == 2 and rows["exact-cpu"]["seconds"] == pytest.approx(2 * 0.25 + 2 * 1.0)
    assert rows["spsa-gpu"]["seconds"] is None and "no CUDA device" in rows["spsa-gpu"]["note"]
    (root / "bench.json").write_text(json.dumps(BENCH))
    report = projection.plan_report("smoke", 4, root, root / "bench.json")
    assert "projected wall time on 4 worker(s): 9.0 s" in report and "longest run: 9.0 s" in report
    (root / "old.json").write_text(json.dumps({key: BENCH[key] for key in BENCH if key != "validation"}))
    with pytest.raises(ValueError, match="not a benchmark of this version: it lacks validation"):
        projection.plan_report("smoke", 4, root, root / "old.json")


def test_plan_without_a_benchmark_says_how_to_get_one(tmp_path):
    report = projection.plan_report("smoke", 2, write_profile(tmp_path, {"seeds": SEEDS}))
    assert "seeds-exact-s3" in report and "make bench" in report


# ---------------------------------------------------------------- both executors, end to end (smoke runs)

FINAL_CHAPTER = """from qrnn_study import study
runs = study.load_profile(profile, root)
assert runs and all(run.complete for run in runs), "the exclusive chapter runs after every run"
"""


def chapter_notebook(params: dict | None = None) -> nbformat.NotebookNode:
    """A tiny chapter that checks it runs after every run (with ``params`` as extra parameters)."""
    notebook = nbformat.v4.new_notebook()
    extra = "".join(f"\n{key} = {value!r}" for key, value in (params or {}).items())
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Final"),
        nbformat.v4.new_code_cell('profile = "quick"\nroot = None' + extra),
        nbformat.v4.new_code_cell(FINAL_CHAPTER),
    ]
    notebook.cells[1].metadata["tags"] = ["parameters"]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def smoke_tree(tmp_path_factory, name: str) -> Path:
    """A copy of the working tree whose smoke profile is two runs and one (exclusive) chapter."""
    tree = copy_tree(tmp_path_factory.mktemp(name))
    configs = tree / "configs" / "smoke"
    shutil.rmtree(configs / "sweeps", ignore_errors=True)
    for path in [*configs.glob("*.yaml"), *configs.glob("train/*.yaml")]:
        if path.name not in ("exact-cpu.yaml", "spsa-cpu.yaml"):
            path.unlink()
    (configs / "final.yaml").write_text("exclusive: true\n")
    nbformat.write(chapter_notebook(), tree / "notebooks" / "final.ipynb")
    return tree


def command(tree: Path, *args: str, target: str = "runs", timeout: int = 600) -> subprocess.CompletedProcess:
    """``make TARGET PROFILE=smoke ARGS`` in ``tree``; the shared venv counts as installed (``-o``: not reinstalled)."""
    env = os.environ | {"PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    env.pop("DASK_SCHEDULER", None)
    return subprocess.run(
        ["make", "-o", ".venv/.installed", target, "PROFILE=smoke", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def outputs(tree: Path) -> dict[str, float]:
    """Every executed notebook, run file and manifest of the tree, with its modification time."""
    return {
        str(p.relative_to(tree)): p.stat().st_mtime
        for p in (tree / "build" / "smoke").rglob("*")
        if p.is_file() and "params" not in p.parts and p.name not in ("plan.mk", ".lock")
    }


@pytest.fixture(scope="module")
def make_tree(tmp_path_factory) -> Path:
    tree = smoke_tree(tmp_path_factory, "make")
    done = command(tree, "-j2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tree


@pytest.fixture(scope="module")
def dask_tree(tmp_path_factory) -> Path:
    tree = smoke_tree(tmp_path_factory, "dask")
    done = command(tree, "EXECUTOR=dask", "WORKERS=2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "3 task(s) done, 0 failed" in done.stdout, done.stdout
    return tree


def run_files(tree: Path, run: str) -> tuple[dict, dict, pd.DataFrame]:
    folder = tree / "build" / "smoke" / "runs" / run
    result = json.loads((folder / "result.json").read_text())
    with np.load(folder / "predictions.npz") as arrays:
        predictions = {key: arrays[key] for key in arrays.files}
    return result, predictions, pd.read_csv(folder / "updates.csv")


@pytest.mark.slow
def test_dask_run_folders_equal_makes(make_tree, dask_tree):
    for run in ("exact-cpu", "spsa-cpu"):
        (made, made_pred, made_updates), (dasked, dask_pred, dask_updates) = (
            run_files(make_tree, run),
            run_files(dask_tree, run),
        )
        assert made["status"] == dasked["status"] == "complete"
        assert made["initial_validation"] == dasked["initial_validation"]
        metrics = ("val_rmse_y", "val_rmse_z", "val_rmse_mean", "train_rmse", "circuit_evaluations")
        assert [{k: e[k] for k in metrics} for e in made["epochs"]] == [
            {k: e[k] for k in metrics} for e in dasked["epochs"]
        ]
        assert made_pred.keys() == dask_pred.keys() and all(
            np.array_equal(made_pred[k], dask_pred[k]) for k in made_pred
        )
        assert made_updates["loss"].tolist() == dask_updates["loss"].tolist()
        assert made["provenance"]["executor"] == "make" and made["provenance"]["scheduler"] is None
        assert dasked["provenance"]["executor"] == "dask"
        assert (
            dasked["provenance"]["scheduler"].startswith("tcp://127.0.0.1:")
            and dasked["provenance"]["worker_host"] == "127.0.0.1"
        )
    for tree in (make_tree, dask_tree):
        assert [p.name for p in (tree / "build" / "smoke" / "chapters").iterdir()] == ["final.ipynb"]


@pytest.mark.slow
def test_a_second_invocation_reruns_nothing(make_tree, dask_tree):
    for tree, args in ((make_tree, ()), (dask_tree, ("EXECUTOR=dask", "WORKERS=2"))):
        before = outputs(tree)
        done = command(tree, *args)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "papermill" not in done.stdout and outputs(tree) == before
        states = planning.task_states(planning.build_plan("smoke", tree), tree)
        assert all(state.up_to_date for state in states.values()), states
    assert "3 of 3 tasks up to date, 0 to run" in done.stdout


@pytest.mark.slow
def test_an_existing_scheduler_runs_what_is_out_of_date(dask_tree):
    port = 8786 + os.getpid() % 1000
    dask = str(ROOT / ".venv" / "bin" / "dask")
    scheduler = subprocess.Popen([dask, "scheduler", "--port", str(port), "--no-dashboard"], stderr=subprocess.DEVNULL)
    worker = subprocess.Popen(
        [dask, "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "2", "--nthreads", "1"],
        cwd=dask_tree,
        env=os.environ | {"PYTHONPATH": str(dask_tree)},
        stderr=subprocess.DEVNULL,
    )
    try:
        before = outputs(dask_tree)
        (dask_tree / "build" / "smoke" / "train" / "exact-cpu.ipynb").unlink()
        done = command(dask_tree, "EXECUTOR=dask", f"DASK_SCHEDULER=tcp://127.0.0.1:{port}")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "1 of 3 tasks up to date, 2 to run" in done.stdout and "2 task(s) done, 0 failed" in done.stdout
        after = outputs(dask_tree)
        assert after["build/smoke/runs/spsa-cpu/result.json"] == before["build/smoke/runs/spsa-cpu/result.json"]
        result, _, _ = run_files(dask_tree, "exact-cpu")
        assert result["provenance"]["scheduler"] == f"tcp://127.0.0.1:{port}"
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=60)


@pytest.mark.slow
def test_a_failing_run_fails_alone_and_is_reported(dask_tree):
    # A configuration the plan accepts (strict configs refuse bad values before any task) but which fails when it
    # runs: a CUDA run without skip_unavailable on a machine without CUDA.
    if cuda_available():
        pytest.skip("needs a machine without CUDA, so that a CUDA run fails when it runs")
    configs = dask_tree / "configs" / "smoke" / "train"
    (configs / "broken.yaml").write_text(
        (configs / "exact-cpu.yaml").read_text().replace("device: cpu", "device: cuda")
    )
    (configs / "exact-s7.yaml").write_text((configs / "exact-cpu.yaml").read_text().replace("seed: 1920", "seed: 7"))
    done = command(dask_tree, "EXECUTOR=dask", "WORKERS=2")
    assert done.returncode != 0
    assert "FAILED notebooks/train.ipynb [train/broken]" in done.stderr + done.stdout
    assert "this machine has no CUDA device" in done.stderr + done.stdout
    assert "1 task(s) done, 1 failed, 1 not run" in done.stdout
    runs = dask_tree / "build" / "smoke" / "runs"
    assert (runs / "exact-s7" / "result.json").is_file() and not (runs / "broken" / "result.json").exists()
    assert not (dask_tree / "build" / "smoke" / "train" / "broken.ipynb").exists(), "a failed run never looks complete"
