"""Nothing damaged or stale is ever shown: manifests, `make check`, damaged run files and the build lock."""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import threading
import time
from pathlib import Path

import nbformat
import pytest
from test_pipeline import CHAPTERS, ROOT, chapter_notebook, chapter_repo, command, fake_build, smoke_tree

from qrnn_core.training import load_run
from qrnn_study import book, manifest, pipeline, study
from qrnn_study import plan as planning

# ---------------------------------------------------------------- manifests (no notebook runs)


def test_a_manifest_names_every_file_that_does_not_match(tmp_path):
    for name, text in {"out/a.csv": "1,2\n", "out/sub/b.json": "{}", "nb.ipynb": "{}", "in.yaml": "x: 1\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    manifest.seal("out", "nb.ipynb", ["in.yaml"], tmp_path)
    assert manifest.damage("out", "nb.ipynb", tmp_path) == []
    assert manifest.changed_inputs("out", manifest.input_hashes(["in.yaml"], tmp_path), tmp_path) == []
    (tmp_path / "out/a.csv").write_text("1,3\n")  # same size, other bytes
    (tmp_path / "out/sub/b.json").unlink()
    (tmp_path / "out/c.csv").write_text("garbage")
    (tmp_path / "in.yaml").write_text("x: 2\n")
    assert manifest.damage("out", "nb.ipynb", tmp_path) == [
        "out/a.csv: checksum mismatch",
        "out/sub/b.json: missing",
        "out/c.csv: not in the manifest",
    ]
    assert manifest.changed_inputs("out", manifest.input_hashes(["in.yaml"], tmp_path), tmp_path) == ["in.yaml"]
    assert manifest.damage("out", "other.ipynb", tmp_path)[-1] == "other.ipynb: not in the manifest"
    with pytest.raises(manifest.Damaged, match="out/a.csv: checksum mismatch; out/sub/b.json: missing"):
        manifest.verify("out", "nb.ipynb", tmp_path)
    (tmp_path / "out/manifest.json").write_text('{"files": {')
    assert manifest.damage("out", "nb.ipynb", tmp_path)[0].startswith("out/manifest.json: damaged or truncated")
    (tmp_path / "out/manifest.json").unlink()
    assert manifest.damage("out", "nb.ipynb", tmp_path) == ["out/manifest.json: missing"]


def test_the_fingerprint_does_not_depend_on_the_inputs_order():
    assert manifest.fingerprint({"a": "1", "b": None}) == manifest.fingerprint({"b": None, "a": "1"})
    assert manifest.fingerprint({"a": "1"}) != manifest.fingerprint({"a": "2"})


def test_states_name_the_damage_and_invalidate_deletes_what_make_would_not_rerun(tmp_path, capsys, monkeypatch):
    root = chapter_repo(tmp_path, CHAPTERS)
    fake_build(root)
    monkeypatch.chdir(root)
    assert pipeline.main(["check", "smoke"]) == 0, "`make check`: all up to date"
    assert capsys.readouterr().out.endswith("6 of 6 tasks of profile smoke up to date\n")
    (root / "build/smoke/runs/spsa-cpu/result.json").write_text("{")  # truncated
    (root / "configs/smoke/train/exact-cpu.yaml").write_text("method: exact\nseed: 6\n")  # a changed parameter
    plan = planning.build_plan("smoke", root)  # its parameter files are not rewritten: `check` writes nothing
    states = planning.task_states(plan, root)
    assert str(states["train/spsa-cpu"]) == "damaged: build/smoke/runs/spsa-cpu/result.json: checksum mismatch"
    assert str(states["train/exact-cpu"]) == "inputs changed: build/smoke/params/train/exact-cpu.yaml"
    assert states["train/seeds-spsa-s1"].up_to_date
    assert str(states["chapters/accuracy"]) == "runs after a task that re-runs: train/exact-cpu"
    assert pipeline.main(["check", "smoke"]) == 1
    report = capsys.readouterr().out
    assert report.endswith("1 of 6 tasks of profile smoke up to date; `make runs PROFILE=smoke` re-runs the other 5\n")
    assert "train/spsa-cpu       damaged: build/smoke/runs/spsa-cpu/result.json: checksum mismatch\n" in report
    assert planning.stale_tasks(plan, root) == {task.name for task in plan} - {"train/seeds-spsa-s1"}, "Dask's rule"
    assert planning.invalidate(plan, root) == ["train/exact-cpu", "train/spsa-cpu"]
    assert capsys.readouterr().err.splitlines() == [
        "train/exact-cpu: inputs changed (build/smoke/params/train/exact-cpu.yaml), re-running",
        "build/smoke/runs/spsa-cpu/result.json: checksum mismatch, re-running",
    ]
    assert [task.name for task in plan if (root / task.output).is_file()] == [
        "train/seeds-spsa-s1",
        "chapters/accuracy",
        "chapters/summary",
        "chapters/runtime",
    ], "Make's own rule re-runs the chapters after the runs"
    shutil.rmtree(root / "build/smoke/runs/exact-cpu")
    assert str(planning.task_states(plan, root)["train/exact-cpu"]) == "not built"


def test_load_run_names_a_damaged_or_missing_file_and_reads_skipped_runs(tmp_path):
    result = tmp_path / "result.json"
    result.write_text('{"status": "complete", "epo')
    with pytest.raises(ValueError, match=f"{result}: damaged or truncated \\(JSONDecodeError"):
        load_run(tmp_path)
    result.write_text(json.dumps({"status": "complete"}))
    (tmp_path / "updates.csv").write_text("garbage\n")
    with pytest.raises(FileNotFoundError, match="predictions.npz: missing, though result.json says the run is"):
        load_run(tmp_path)
    (tmp_path / "predictions.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="updates.csv: damaged or truncated .*columns \\['garbage'\\]"):
        load_run(tmp_path)
    (tmp_path / "updates.csv").write_text("update,epoch,loss,rmse,wall_time_s,circuit_evaluations\n")
    with pytest.raises(ValueError, match="predictions.npz: damaged or truncated \\(BadZipFile"):
        load_run(tmp_path)
    for name in ("updates.csv", "predictions.npz"):
        (tmp_path / name).unlink()
    result.write_text(json.dumps({"status": "skipped", "reason": "skipped: no CUDA device"}))
    assert load_run(tmp_path).predictions is None


def test_a_second_build_exits_naming_the_lock_holder(tmp_path):
    for name in ("Makefile", "pyproject.toml", "tools/build_lock.sh"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, tmp_path / name)
    lock = tmp_path / "build/smoke/.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write("4242\n")
        handle.flush()
        for target in ("runs", "book"):
            done = command(tmp_path, "-o", "book/_mathjax/mathjax/tex-chtml.js", target=target, timeout=60)
            assert done.returncode != 0
            assert (
                "another build of profile smoke is running in this tree (lock build/smoke/.lock held by pid 4242); "
                "wait for it or stop it"
            ) in done.stderr
    assert not (tmp_path / "build/smoke/plan.mk").exists(), "nothing ran"


# ---------------------------------------------------------------- a built smoke tree attacked (notebook runs)

TABLE = """import pandas as pd
from qrnn_core import files
table = pd.DataFrame({"run": [run.name for run in runs]})
files.write_csv(study.chapter_data_dir(profile, "final", root) / "runs.csv", table)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The two-run smoke tree of test_pipeline, built; its final chapter also writes a table."""
    tree = smoke_tree(tmp_path_factory, "integrity")
    notebook = chapter_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(TABLE))
    nbformat.write(notebook, tree / "notebooks" / "final.ipynb")
    done = command(tree, "-j2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return tree


def states(tree: Path) -> dict[str, str]:
    return {name: str(state) for name, state in planning.task_states(planning.build_plan("smoke", tree), tree).items()}


UP_TO_DATE = {"train/exact-cpu": "up to date", "train/spsa-cpu": "up to date", "chapters/final": "up to date"}
RESULT = "build/smoke/runs/spsa-cpu/result.json"
PREDICTIONS = "build/smoke/runs/exact-cpu/predictions.npz"
TABLE_CSV = "build/smoke/data/final/runs.csv"
CONFIG = "configs/smoke/train/exact-cpu.yaml"
AFTER = "runs after a task that re-runs: "


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def change_seed(path: Path) -> None:
    path.write_text(path.read_text().replace("seed: 1920", "seed: 7"))


def garble(path: Path) -> None:
    path.write_text("garbage")


@pytest.mark.slow
@pytest.mark.parametrize(
    "path, attack, task, state, error",
    [
        (RESULT, truncate, "train/spsa-cpu", f"damaged: {RESULT}: checksum mismatch", "damaged or truncated"),
        (PREDICTIONS, Path.unlink, "train/exact-cpu", f"damaged: {PREDICTIONS}: missing", "missing, though"),
        (TABLE_CSV, garble, "chapters/final", f"damaged: {TABLE_CSV}: checksum mismatch", None),
        (RESULT, Path.unlink, "train/spsa-cpu", f"damaged: {RESULT}: missing", None),
        (CONFIG, change_seed, "train/exact-cpu", "inputs changed: build/smoke/params/train/exact-cpu.yaml", None),
    ],
    ids=["truncated-result", "deleted-predictions", "garbled-chapter-csv", "deleted-result", "changed-parameters"],
)
def test_each_attack_is_detected_naming_the_file(built, path, attack, task, state, error):
    saved = (built / path).read_bytes()
    attack(built / path)
    try:
        after = {} if task == "chapters/final" else {"chapters/final": AFTER + task}
        assert states(built) == UP_TO_DATE | after | {task: state}
        if error:  # a chapter made to run anyway is told which file is damaged
            with pytest.raises((ValueError, FileNotFoundError), match=re.escape(f"{built / path}: {error}")):
                study.load_profile("smoke", built)
        if state.startswith("damaged"):  # the book stages nothing damaged (`make runs` re-runs changed inputs)
            with pytest.raises(manifest.Damaged, match=re.escape(state.removeprefix("damaged: "))):
                book.stage_book("smoke", built)
    finally:
        (built / path).write_bytes(saved)
    assert states(built) == UP_TO_DATE, "the restored file verifies again"


@pytest.mark.slow
def test_make_runs_repairs_the_damage_while_a_second_build_exits(built):
    truncate(built / RESULT)
    change_seed(built / CONFIG)
    (built / TABLE_CSV).write_text("garbage")
    checked = command(built, target="check")
    assert checked.returncode != 0
    assert f"{RESULT}: checksum mismatch" in checked.stdout and f"{TABLE_CSV}: checksum mismatch" in checked.stdout
    with pytest.raises(manifest.Damaged, match=f"{TABLE_CSV}: checksum mismatch"):
        book.stage_book("smoke", built)
    first: list = []
    thread = threading.Thread(target=lambda: first.append(command(built, "-j2")))
    thread.start()
    deadline = time.monotonic() + 120
    while (built / "build/smoke/train/spsa-cpu.ipynb").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # until the first build holds the lock and has deleted the damaged run's notebook
    second = command(built, timeout=120)
    thread.join()
    assert second.returncode != 0 and "papermill" not in second.stdout
    holder = "another build of profile smoke is running in this tree (lock build/smoke/.lock held by pid"
    assert holder in second.stderr
    (done,) = first
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for line in (
        f"{RESULT}: checksum mismatch, re-running",
        f"{TABLE_CSV}: checksum mismatch, re-running",
        "train/exact-cpu: inputs changed (build/smoke/params/train/exact-cpu.yaml), re-running",
    ):
        assert line in done.stderr
    assert states(built) == UP_TO_DATE
    assert all(run.complete for run in study.load_profile("smoke", built))
    assert load_run(built / "build/smoke/runs/exact-cpu").result["config"]["seed"] == 7
    assert (book.stage_book("smoke", built) / "final.ipynb").is_file()
    assert not any(built.glob("build/smoke/*/.*.tmp.ipynb")), "no build was left half done"
