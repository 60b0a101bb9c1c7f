"""The results archive: fixed-direction SPSA, replay of archived runs and their verification."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from qrnn_core import estimators
from qrnn_core.training import TrainConfig, train
from qrnn_study import archive


def test_fixed_spsa_keeps_its_directions_between_updates() -> None:
    weight, bias, features = torch.zeros(55, 1), torch.zeros(55), torch.rand(1, 20, 1)
    generator = torch.Generator().manual_seed(3)
    fixed = estimators.method_spec("spsa-fixed").build(estimators.EstimatorOptions())
    proper = estimators.method_spec("spsa").build(estimators.EstimatorOptions())
    plans = [fixed.plan(weight, bias, features, generator).angles for _ in range(3)]
    assert all(torch.equal(plans[0], other) for other in plans[1:])
    fresh = [proper.plan(weight, bias, features, generator).angles for _ in range(2)]
    assert not torch.equal(fresh[0], fresh[1])
    assert set(fixed.fixed.unique().tolist()) == {-1.0, 1.0} and fixed.fixed.shape == (2, 110)


def test_fixed_spsa_moves_the_input_layer_in_lockstep_groups(tmp_path) -> None:
    """With two fixed directions, parameters of equal sign pairs get equal estimates: at most 4 distinct moves."""
    config = TrainConfig(method="spsa-fixed", shots=None, optimizer="sgd", n_train=4, val_length=20, epochs=1)
    result = train(config, tmp_path / "run", progress=False, log=None)
    assert result["status"] == "complete"
    start = torch.load(tmp_path / "run" / "checkpoints" / "epoch_00.pt", weights_only=False)
    end = torch.load(tmp_path / "run" / "checkpoints" / "epoch_01.pt", weights_only=False)
    keys = ("input_layer.weight", "input_layer.bias")
    moved = torch.cat([(end["model"][k] - start["model"][k]).flatten() for k in keys])
    groups = (end["estimator"]["fixed"] > 0).to(torch.int64)
    group = groups[0] * 2 + groups[1]
    for g in group.unique():
        part = moved[group == g]
        assert torch.allclose(part, part[0].expand_as(part), atol=1e-6)
    assert moved.abs().max() > 0


def _archived_run(root, method: str = "spsa", **extra):
    run_dir = root / "results" / "smoke" / f"{method}-run"
    config = TrainConfig(method=method, shots=1024, n_train=6, val_length=30, epochs=2, **extra)
    train(config, run_dir, progress=False, log=None)
    archive._seal(run_dir)
    return run_dir


def test_an_archived_run_replays_exactly_and_is_cached(tmp_path) -> None:
    run_dir = _archived_run(tmp_path)
    assert archive.is_complete(run_dir) and not (run_dir / "checkpoint_last.pt").exists()
    check = archive.verify_run(run_dir, n_updates=4, root=tmp_path)
    assert check.passed and check.max_deviation == 0.0 and check.updates_replayed == 4
    cache = tmp_path / "build" / "smoke" / "verify" / f"{run_dir.name}.json"
    assert json.loads(cache.read_text())["passed"] is True
    staged = archive.stage("smoke", run_dir.name, tmp_path / "staged", root=tmp_path)
    result = json.loads((staged / "result.json").read_text())
    assert result["archive"]["updates_replayed"] == archive.DEFAULT_UPDATES or result["archive"]["passed"]
    assert (staged / "updates.csv").is_file()


def test_a_change_to_the_numerics_fails_verification(tmp_path, monkeypatch) -> None:
    run_dir = _archived_run(tmp_path)
    monkeypatch.setattr(
        estimators.SPSA, "sample", lambda self, shape, gen: 2.0 * torch.randint(0, 2, shape, generator=gen) - 1.0 + 0.5
    )
    check = archive.verify_run(run_dir, n_updates=4, root=tmp_path, use_cache=False)
    assert not check.passed and check.max_loss_deviation > 0


def test_a_damaged_archive_file_fails_verification(tmp_path) -> None:
    run_dir = _archived_run(tmp_path)
    result = json.loads((run_dir / "result.json").read_text())
    for epoch in result["epochs"]:
        epoch["val_rmse_mean"] += 1e-3
    (run_dir / "result.json").write_text(json.dumps(result))
    check = archive.verify_run(run_dir, n_updates=2, root=tmp_path)
    assert not check.passed and check.validation_deviation == pytest.approx(1e-3, rel=1e-3)


def test_the_published_archive_verifies() -> None:
    """A few updates of a few archived paper-profile runs (one per method) replay under this code."""
    runs = sorted(p for p in archive.archive_dir("paper").glob("*") if archive.is_complete(p))
    assert runs, "results/paper/ holds no finished run"
    sample = {json.loads((p / "result.json").read_text())["config"]["method"]: p for p in runs}
    for run_dir in sample.values():
        check = archive.verify_run(run_dir, n_updates=3, use_cache=False)
        assert check.passed, f"{run_dir.name}: epoch {check.epoch}, deviation {check.max_deviation}"


@pytest.mark.slow
def test_make_runs_stages_verified_archived_runs_and_retrains_a_damaged_one(tmp_path_factory) -> None:
    """End to end at smoke scale: an archived run is verified and shown as is; a damaged one is named and re-run."""
    from test_pipeline import command, smoke_tree

    tree = smoke_tree(tmp_path_factory, "archive")
    env = os.environ | {"PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    produce = [sys.executable, "-m", "qrnn_study.archive", "produce", "smoke", "spsa-cpu", "exact-cpu"]
    subprocess.run(produce, cwd=tree, env=env, check=True, capture_output=True, timeout=600)
    damaged = tree / "results" / "smoke" / "exact-cpu" / "result.json"
    result = json.loads(damaged.read_text())
    result["epochs"][0]["val_rmse_mean"] += 1e-3
    damaged.write_text(json.dumps(result))
    done = command(tree, "-j2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    staged = json.loads((tree / "build" / "smoke" / "runs" / "spsa-cpu" / "result.json").read_text())
    archived = json.loads((tree / "results" / "smoke" / "spsa-cpu" / "result.json").read_text())
    assert staged["archive"]["passed"] and staged["archive"]["source"] == "results/smoke/spsa-cpu"
    assert staged["provenance"]["created"] == archived["provenance"]["created"], "the archived run is shown, not re-run"
    retrained = json.loads((tree / "build" / "smoke" / "runs" / "exact-cpu" / "result.json").read_text())
    assert "archive" not in retrained and retrained["status"] == "complete"
    page = (tree / "build" / "smoke" / "train" / "exact-cpu.ipynb").read_text()
    assert "archived run results/smoke/exact-cpu: failed verification" in page
