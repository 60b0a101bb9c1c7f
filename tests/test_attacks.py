"""Issue 20: bad input to the trainer fails clearly before any work, and resume and overwrite never mix two runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from qrnn_core import training
from qrnn_core.data import LorenzConfig, file_sha256, lorenz_series
from qrnn_core.files import check_writable
from qrnn_core.model import QRNNConfig
from qrnn_core.training import TrainConfig, load_run, main, replay_validation, train

ROOT = Path(__file__).resolve().parents[1]
TINY = {"n_qubits": 4, "n_train": 2, "val_length": 20}


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("data_cache"))


@pytest.fixture(scope="module")
def finished(cache, tmp_path_factory) -> Path:
    """A complete 2-epoch run (copy it before changing it)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    quiet(TrainConfig(epochs=2, cache_dir=cache, **TINY), out)
    return out


def quiet(config: TrainConfig, out_dir, **kwargs) -> dict:
    return train(config, out_dir, progress=False, log=None, **kwargs)


def cli(cache: str, out: Path, *extra: str) -> list[str]:
    """Command line of a tiny run into ``out``."""
    args = ["--n-qubits", "4", "--n-train", "2", "--val-length", "20", "--cache-dir", cache]
    return [*args, "--out", str(out), "--no-progress", *extra]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def save_series(path: Path, seed: int) -> Path:
    np.save(path, lorenz_series(LorenzConfig(n_points=200, data_seed=seed)))
    return path


# ---------------------------------------------------------------- 1. resume on a changed data file


def test_resume_refuses_a_changed_data_file(tmp_path, capsys):
    data = save_series(tmp_path / "series.npy", seed=1)
    config = TrainConfig(epochs=1, data_path=str(data), cache_dir=None, **TINY)
    quiet(config, tmp_path / "first")
    old_hash = file_sha256(data)
    stored = torch.load(tmp_path / "first" / "checkpoint_last.pt", weights_only=False)["data"]
    assert stored == {"source": config.data_config().source(), "sha256": old_hash}
    assert load_run(tmp_path / "first").result["provenance"]["data"] == stored
    save_series(data, seed=2)  # the same file name, another series
    new_hash = file_sha256(data)
    resume = tmp_path / "first" / "checkpoint_last.pt"
    args = ["--data", str(data), "--n-qubits", "4", "--n-train", "2", "--val-length", "20", "--epochs", "2"]
    assert main([*args, "--resume", str(resume), "--out", str(tmp_path / "second"), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert f"SHA-256 {old_hash}" in error and f"SHA-256 {new_hash}" in error and "mix two series" in error
    assert not (tmp_path / "second").exists()
    before = snapshot(tmp_path / "first")
    with pytest.raises(ValueError, match=new_hash):  # in place as well
        quiet(TrainConfig(epochs=2, data_path=str(data), cache_dir=None, **TINY), tmp_path / "first", resume=resume)
    assert snapshot(tmp_path / "first") == before


def test_checkpoint_without_a_data_record_resumes_on_generated_data_only(finished, cache, tmp_path):
    def strip(path: Path) -> Path:
        state = torch.load(path, weights_only=False)
        del state["data"]  # as written before checkpoints recorded their data
        torch.save(state, tmp_path / "old.pt")
        return tmp_path / "old.pt"

    resume = strip(finished / "checkpoint_last.pt")
    result = quiet(TrainConfig(epochs=3, cache_dir=cache, **TINY), tmp_path / "run", resume=resume)
    assert result["epochs"][:2] == load_run(finished).result["epochs"] and len(result["epochs"]) == 3
    assert result["provenance"]["data"] == {"source": "Lorenz-63, data seed 1920", "sha256": None}
    data = save_series(tmp_path / "series.npy", seed=1)
    config = TrainConfig(epochs=1, data_path=str(data), cache_dir=None, **TINY)
    quiet(config, tmp_path / "file-run")
    config.epochs = 2
    with pytest.raises(ValueError, match=r"SHA-256 \(none recorded\)"):
        quiet(config, tmp_path / "file-resumed", resume=strip(tmp_path / "file-run" / "checkpoint_last.pt"))
    assert not (tmp_path / "file-resumed").exists()


# ---------------------------------------------------------------- 2. resume with fewer epochs than done


def test_resume_refuses_fewer_epochs_than_done(finished, cache, tmp_path, capsys):
    resume = finished / "checkpoint_last.pt"
    assert main(cli(cache, tmp_path / "run", "--epochs", "1", "--resume", str(resume))) == 2
    error = capsys.readouterr().err
    assert f"checkpoint '{resume}' has 2 epochs done; epochs=1 (--epochs) must be >= 2" in error
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- 3. overwrite never mixes two runs


def test_failed_overwrite_leaves_the_old_run_whole(finished, cache, tmp_path, monkeypatch):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = snapshot(out)

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(training, "_run_epoch", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        quiet(TrainConfig(epochs=1, seed=7, cache_dir=cache, **TINY), out, overwrite=True)
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"], "the new run's partial folder is removed"


def test_killed_overwrite_leaves_the_old_run_whole(finished, cache, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = snapshot(out)
    command = [sys.executable, "-m", "qrnn_core", "train", *cli(cache, out, "--epochs", "100000", "--overwrite")]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = tmp_path / f".run.new-{process.pid}"
    try:
        deadline = time.monotonic() + 120
        while not (work / "checkpoints" / "epoch_02.pt").is_file():
            assert process.poll() is None and time.monotonic() < deadline, "the overwrite never got under way"
            time.sleep(0.02)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert snapshot(out) == before, "the old complete run is untouched while the new one is not complete"


def test_overwrite_replaces_the_whole_folder(finished, cache, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / ".updates.csv.tmp123").write_text("a temporary file of an interrupted write")
    result = quiet(TrainConfig(epochs=1, seed=7, cache_dir=cache, **TINY), out, overwrite=True)
    assert sorted(snapshot(out)) == sorted(name for name in snapshot(finished) if name != "checkpoints/epoch_02.pt")
    assert load_run(out).result == result and len(load_run(out).updates) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_overwrite_and_fresh_runs_refuse_folders_they_would_mix_with(finished, cache, tmp_path, capsys):
    incomplete = tmp_path / "incomplete"
    shutil.copytree(finished, incomplete)
    (incomplete / "result.json").unlink()
    before = snapshot(incomplete)
    assert main(cli(cache, incomplete, "--epochs", "1")) == 2
    assert f"--resume {incomplete / 'checkpoint_last.pt'}" in capsys.readouterr().err
    assert snapshot(incomplete) == before
    other = tmp_path / "other"
    shutil.copytree(finished, other)
    (other / "notes.txt").write_text("not a run's file")
    before = snapshot(other)
    assert main(cli(cache, other, "--epochs", "1", "--overwrite")) == 2
    assert "not part of a run (notes.txt)" in capsys.readouterr().err
    assert snapshot(other) == before


def test_resume_in_place_continues_an_interrupted_run(finished, cache, tmp_path, monkeypatch):
    out = tmp_path / "run"
    run_epoch = training._run_epoch

    def crash_in_epoch_2(*args, **kwargs):
        if args[5] == 2:
            raise RuntimeError("simulated crash")
        return run_epoch(*args, **kwargs)

    config = TrainConfig(epochs=2, cache_dir=cache, **TINY)
    monkeypatch.setattr(training, "_run_epoch", crash_in_epoch_2)
    with pytest.raises(RuntimeError, match="simulated crash"):
        quiet(config, out)
    monkeypatch.setattr(training, "_run_epoch", run_epoch)
    resumed = quiet(config, out, resume=out / "checkpoint_last.pt")
    assert [e["val_rmse_mean"] for e in resumed["epochs"]] == [
        e["val_rmse_mean"] for e in load_run(finished).result["epochs"]
    ]
    np.testing.assert_array_equal(load_run(out).updates["loss"], load_run(finished).updates["loss"])


def test_resume_in_place_of_a_complete_run_keeps_its_epoch_checkpoints(finished, cache, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    config = TrainConfig(epochs=3, cache_dir=cache, **TINY)
    result = quiet(config, out, resume=out / "checkpoint_last.pt", overwrite=True)
    assert len(result["epochs"]) == 3
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == [f"epoch_0{e}.pt" for e in range(4)]
    assert replay_validation(out, 1, cache)["rmse_mean"] == result["epochs"][0]["val_rmse_mean"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


# ---------------------------------------------------------------- 4. unreadable checkpoints


@pytest.mark.parametrize("kind", ["truncated", "text", "epoch checkpoint"])
def test_unreadable_checkpoint_is_named(kind, finished, cache, tmp_path, capsys):
    path = tmp_path / "checkpoint.pt"
    if kind == "truncated":
        whole = (finished / "checkpoint_last.pt").read_bytes()
        path.write_bytes(whole[: len(whole) // 2])
    elif kind == "text":
        path.write_text("epoch: 3\nthis is not a checkpoint\n")
    else:
        path = finished / "checkpoints" / "epoch_01.pt"
    assert main(cli(cache, tmp_path / "run", "--epochs", "2", "--resume", str(path))) == 2
    error = capsys.readouterr().err
    if kind == "epoch checkpoint":
        assert f"{path}: an epoch checkpoint holds no training history; resume from checkpoint_last.pt" in error
    else:
        assert f"error: {path}: not a checkpoint of this project (" in error
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- 5. runs that cannot fit in memory


@pytest.mark.parametrize("n_qubits", ["100", "24"])
def test_too_many_qubits_are_refused_before_allocating(n_qubits, cache, tmp_path, capsys):
    args = cli(cache, tmp_path / "run", "--epochs", "1")
    args[1] = n_qubits
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "does not fit in memory" in error and f"n_qubits={n_qubits}" in error and "is available (" in error
    assert not (tmp_path / "run").exists()


def test_memory_limit_and_estimate_are_named(cache, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "available_memory", lambda config: (1000, "a test's limit"))
    with pytest.raises(ValueError, match=r"needs about .* but only 1000.0 B is available \(a test's limit\)"):
        quiet(TrainConfig(epochs=1, cache_dir=cache, **TINY), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_memory_estimate_grows_with_the_work():
    small, large = QRNNConfig(n_qubits=4), QRNNConfig(n_qubits=10)
    assert small.memory_bytes(1, 20, True) < large.memory_bytes(1, 20, True)
    fdsa = QRNNConfig(method="fdsa")
    assert fdsa.sequence_evaluations(2, 20, True) == 2 * (2 * fdsa.n_params + 1)
    assert fdsa.memory_bytes(2, 20, True) > fdsa.memory_bytes(2, 20, False)
    exact = QRNNConfig(method="exact")
    assert exact.memory_bytes(64, 20, True) > exact.memory_bytes(64, 20, False)  # autograd keeps its graph
    assert QRNNConfig(n_qubits=100).memory_bytes(1, 1, False) > 2**50  # exact integers, no overflow


# ---------------------------------------------------------------- 6. a run folder that cannot be written


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder no file can be created in (read-only /sys when running as root, who ignores permissions)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        check_writable(folder)
    except PermissionError:
        yield folder
    else:
        if not Path("/sys").is_dir():
            pytest.skip("no folder here refuses writes")
        yield Path("/sys")
    folder.chmod(0o700)


def test_unwritable_out_fails_before_any_work(unwritable, cache, capsys, monkeypatch):
    monkeypatch.setattr(training, "_load_task", lambda config: pytest.fail("work started"))
    out = unwritable / "qrnn-run"
    assert main(cli(cache, out, "--epochs", "1")) == 2
    assert f"error: cannot write folder '{out}': no file can be created in '{unwritable}'" in capsys.readouterr().err
    assert not out.exists()


def test_out_below_a_file_is_refused(cache, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(cli(cache, tmp_path / "file" / "run", "--epochs", "1")) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


# ---------------------------------------------------------------- 7 and 8. the data options


def test_data_directory_is_named_as_such(tmp_path, capsys):
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "run")]) == 2
    assert f"data file '{tmp_path}' is a directory, not a file" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("option, value", [("--columns", "2,0,1"), ("--scale", "none")])
def test_data_options_without_data_are_refused(option, value, tmp_path, capsys):
    assert main([option, value, "--out", str(tmp_path / "run")]) == 2
    name = option[2:]
    assert f"{name}={value!r} ({option}) applies to data_path (--data) only" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="applies to data_path"):
        TrainConfig(**{name: value})


def test_default_data_options_stay_accepted(tmp_path):
    assert TrainConfig(columns="0, 1, 2", scale="minmax").columns == "0,1,2"
    data = save_series(tmp_path / "series.npy", seed=1)
    assert TrainConfig(data_path=str(data), columns="2,0,1", scale="none").columns == "2,0,1"
