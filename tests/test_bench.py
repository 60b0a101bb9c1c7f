"""The runtime benchmark: its smoke-scale run, its JSON, and the seed-style execution path."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from qrnn_core import bench, simulate
from qrnn_core.__main__ import main as cli

EXPECTED_EVALUATIONS = {"spsa": 5, "fdsa": 221, "param-shift": 2481, "exact": 1}


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    assert cli(["bench", "--quick", "--out", str(out), "--seed", "3"]) == 0
    return json.loads(out.read_text())


def test_quick_benchmark_writes_the_expected_keys(quick_result):
    assert {"config", "machine", "updates", "validation", "targets", "sweep", "wall_seconds"} <= set(quick_result)
    machine = quick_result["machine"]
    assert machine["cores"] >= 1 and machine["torch_threads"] == 1 and machine["packages"]["torch"]
    assert quick_result["config"]["seed"] == 3 and quick_result["config"]["n_qubits"] == 8
    assert set(quick_result["targets"]) == set(bench.TARGETS)
    for target in quick_result["targets"].values():
        assert target["value"] > 0 and isinstance(target["pass"], bool)


def test_every_path_and_method_is_reported(quick_result):
    rows = {(r["path"], r["method"]): r for r in quick_result["updates"]}
    assert set(rows) == {(p, m) for p in bench.PATHS for m in bench.METHODS}
    for (path, method), row in rows.items():
        if row["status"] in ("measured", "projected"):
            assert row["evaluations"] == EXPECTED_EVALUATIONS[method]
            assert 0 < row["min_s"] <= row["median_s"] <= row["max_s"]
            assert row["epoch_hours"] > 0
        else:
            assert row["reason"].startswith(("not applicable", "not available"))
    assert rows[("seed-style", "exact")]["status"] == "not applicable"
    assert rows[("torch", "exact")]["status"] == "measured"
    assert rows[("seed-style", "fdsa")]["status"] == "projected"
    assert rows[("seed-style", "fdsa")]["measured_evaluations"] >= 1
    assert rows[("torch", "spsa")]["speedup_vs_seed_style"] > 0


def test_gpu_rows_without_cuda(quick_result):
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    gpu = [r for r in quick_result["updates"] + quick_result["validation"] if r["path"] == "torch-cuda"]
    assert gpu and all(r["status"] == "not available" and "no CUDA device" in r["reason"] for r in gpu)


def test_validation_and_sweep(quick_result):
    passes = {v["path"]: v for v in quick_result["validation"]}
    assert passes["torch"]["status"] == "measured" and passes["torch"]["steps"] == bench.VALIDATION_STEPS
    assert passes["seed-style"]["status"] == "projected" and "projected" in passes["seed-style"]["projection"]
    sweep = bench.sweep_table(quick_result["sweep"])
    assert set(sweep["axis"]) == {"qubits", "length"} and (sweep["median_s"] > 0).all()
    assert set(sweep["method"]) == set(bench.METHODS)


def test_tables(quick_result):
    assert len(bench.update_table(quick_result)) == len(bench.PATHS) * len(bench.METHODS)
    epochs = bench.epoch_table(quick_result)
    assert list(epochs.index) == list(bench.METHODS) and "torch" in epochs.columns
    assert "Targets" in bench.format_report(quick_result)


def test_json_is_written_atomically_and_loads(tmp_path):
    path = bench.write_json({"a": [1, 2]}, tmp_path / "sub" / "x.json")
    assert bench.load_benchmark(path) == {"a": [1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_evaluation_counts_from_the_model_counter():
    for method, expected in EXPECTED_EVALUATIONS.items():
        assert bench.count_evaluations(method, 8, 20, seed=0) == expected


def test_seed_style_frequencies_follow_the_exact_distribution():
    angles = np.random.default_rng(2).uniform(-np.pi, np.pi, (1, 4, 27))
    executor = bench.SeedStyleExecutor(4, 4, shots=4000, seed=1)
    freq = executor(torch.tensor(angles))
    exact = simulate(angles, "torch")
    assert len(executor.times) == 1 and torch.allclose(freq.sum(-1), torch.ones(1, 4, dtype=freq.dtype))
    assert torch.max(torch.abs(freq - exact)).item() < 0.05


@pytest.mark.parametrize(
    "kwargs, message",
    [({"repeats": 0}, "repeats"), ({"budget_s": -1}, "budget_s"), ({"paths": ("qpu",)}, "qpu"),
     ({"n_qubits": 5}, "n_qubits"), ({"threads": 0}, "threads")],
)
def test_bad_arguments_raise_before_work(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bench.run_benchmark(**kwargs)


def test_help():
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--help"])
    assert exit_info.value.code == 0
