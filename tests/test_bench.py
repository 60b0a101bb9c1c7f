"""The runtime benchmark: its smoke-scale run, its JSON, tables, plots and the seed-style execution path."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
import torch

from qrnn_core import simulate
from qrnn_core.backends import cuda_available
from qrnn_core.estimators import method_names
from qrnn_core.protocol import VALIDATION_STEPS
from qrnn_study import bench, bench_report, timing
from qrnn_study.chapters import runtime
from qrnn_study.study import paper_reported

matplotlib.use("Agg")

# Sequence evaluations of one update of one 20-step sequence on 8 qubits, counted by hand:
# SPSA 2 samples x 2 sides + forward; FDSA 2 x 110 parameters + forward; parameter shift
# 20 steps x (48 one-qubit gates x 2 + 7 CRX x 4 terms) + forward; exact: the forward.
EXPECTED_EVALUATIONS = {"spsa": 5, "spsa-fixed": 5, "fdsa": 221, "param-shift": 2481, "exact": 1}
PAPER = paper_reported()


# The end-to-end run (`python -m qrnn_study bench --quick`, about a minute): the tests that read it are slow.
@pytest.fixture(scope="module")
def quick_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    assert bench.main(["--quick", "--out", str(out), "--seed", "3"]) == 0
    return json.loads(out.read_text())


@pytest.mark.slow
def test_quick_benchmark_writes_the_expected_keys(quick_result):
    assert {"config", "provenance", "updates", "validation", "targets", "sweep", "wall_seconds"} <= set(quick_result)
    assert isinstance(quick_result["aer_check"]["agree"], bool) and quick_result["config"]["aer_runs"] == 1
    device = quick_result["provenance"]["device"]
    assert device["cores"] >= 1 and device["torch_threads"] == 1 and quick_result["provenance"]["versions"]["torch"]
    assert quick_result["provenance"]["seed"] == 3 and quick_result["provenance"]["config"]["seed"] == 3
    assert quick_result["config"]["seed"] == 3 and quick_result["config"]["n_qubits"] == 8
    assert quick_result["config"]["methods"] == list(method_names())
    assert set(quick_result["targets"]) == set(timing.TARGETS)
    for target in quick_result["targets"].values():
        assert target["value"] > 0 and isinstance(target["pass"], bool)


@pytest.mark.slow
def test_every_path_and_method_is_reported(quick_result):
    rows = {(r["path"], r["method"]): r for r in quick_result["updates"]}
    assert set(rows) == {(p, m) for p in timing.execution_paths() for m in method_names()}
    for (_, method), row in rows.items():
        if row["status"] in ("measured", "projected"):
            assert row["evaluations"] == EXPECTED_EVALUATIONS[method]
            assert 0 < row["min_s"] <= row["median_s"] <= row["max_s"]
            assert row["epoch_hours"] > 0
        else:
            assert row["reason"].startswith(("not applicable", "not available"))
    assert rows[("seed-style", "exact")]["status"] == "not applicable"
    assert rows[("torch-shots", "exact")]["status"] == "not applicable"
    assert rows[("torch", "exact")]["status"] == "measured"
    assert rows[("seed-style", "fdsa")]["status"] == "projected"
    assert rows[("seed-style", "fdsa")]["measured_evaluations"] >= 1
    assert rows[("torch", "spsa")]["speedup_vs_seed_style"] > 0


@pytest.mark.slow
def test_gpu_rows_without_cuda(quick_result):
    if cuda_available():
        pytest.skip("a CUDA device is present")
    gpu = [r for r in quick_result["updates"] + quick_result["validation"] if r["path"] == "torch-cuda"]
    assert gpu and all(r["status"] == "not available" and "no CUDA device" in r["reason"] for r in gpu)


@pytest.mark.slow
def test_validation_and_sweep(quick_result):
    passes = {v["path"]: v for v in quick_result["validation"]}
    assert passes["torch"]["status"] == "measured" and passes["torch"]["steps"] == VALIDATION_STEPS
    assert passes["seed-style"]["status"] == "projected" and "projected" in passes["seed-style"]["projection"]
    sweep = bench_report.sweep_table(quick_result["sweep"])
    assert set(sweep["axis"]) == {"qubits", "length"} and (sweep["median_s"] > 0).all()
    assert set(sweep["method"]) == set(method_names())
    growth = bench_report.growth_exponents(quick_result["sweep"])
    assert list(growth.index) == list(method_names()) and growth["time ~ length^k, k"].notna().all()


@pytest.mark.slow
def test_tables(quick_result):
    assert len(bench_report.update_table(quick_result)) == len(timing.execution_paths()) * len(method_names())
    epochs = bench_report.epoch_table(quick_result)
    assert list(epochs.index) == list(method_names()) and "torch" in epochs.columns
    assert set(bench_report.validation_table(quick_result)["path"]) == set(timing.execution_paths())
    assert "Targets" in bench_report.format_report(quick_result)
    text = bench_report.summary(quick_result, "run now")
    assert text.startswith("Benchmark run now:") and "seed 3" in text


@pytest.mark.slow
def test_paper_tables_and_plots(quick_result):
    paper = bench_report.paper_epoch_table(PAPER)
    assert paper.loc["FDSA (GPU)", "reported s/update x 1384 (h)"] == pytest.approx(18.0 * 1384 / 3600)
    assert paper.loc["FDSA (GPU)", "Table 1 as printed (h)"] == 14.5  # the printed table's swapped FDSA rows
    assert paper.loc["FDSA (GPU)", "slides / plot script (h)"] == 8.0
    frame = bench_report.update_plot_frame(quick_result, PAPER)
    assert {"reported", "measured", "projected"} <= set(frame["kind"])
    assert list(dict.fromkeys(frame["method"])) == [m for m in method_names() if m in set(frame["method"])]
    figure = runtime.plot_update_times(frame)
    assert len(figure.axes[0].patches) == len(frame)
    figure = runtime.plot_scaling(quick_result["sweep"])
    assert [len(ax.lines) for ax in figure.axes] == [len(method_names())] * 2
    matplotlib.pyplot.close("all")


def test_load_or_run_reads_an_existing_file_and_refuses_one_of_another_version(tmp_path, quick_result):
    path = tmp_path / "results" / "bench.json"
    path.parent.mkdir()
    path.write_text(json.dumps(quick_result))
    result, origin = bench.load_or_run(path)
    assert result == json.loads(json.dumps(quick_result)) and origin == "read from `results/bench.json`"
    path.write_text(json.dumps({"config": {"seed": 3}}))
    with pytest.raises(ValueError, match="lacks aer_check, epoch_definition"):
        bench.load_or_run(path)


def test_evaluation_counts_from_the_registry():
    for method, expected in EXPECTED_EVALUATIONS.items():
        assert timing.count_evaluations(method, 8, 20) == expected


def test_one_update_counts_what_the_registry_states():
    for method in method_names():
        model = timing.make_model("torch", method, 2, seed=0)
        _, counted = timing.time_updates(model, 6, seed=0, repeats=1, warmup=0)
        assert counted == timing.count_evaluations(method, 2, 6)


def test_seed_style_frequencies_follow_the_exact_distribution():
    angles = np.random.default_rng(2).uniform(-np.pi, np.pi, (1, 4, 27))
    executor = timing.SeedStyleExecutor(4, 4, shots=4000, seed=1)
    freq = executor(torch.tensor(angles))
    exact = simulate(angles, "torch")
    assert len(executor.times) == 1 and torch.allclose(freq.sum(-1), torch.ones(1, 4, dtype=freq.dtype))
    assert torch.max(torch.abs(freq - exact)).item() < 0.05
    assert executor.simulator.options.max_parallel_threads == 1  # Aer capped, as in qrnn_core.aer_simulator
    assert timing.SeedStyleExecutor(4, 4, capped=False).simulator.options.max_parallel_threads != 1


def _around_aer(before: float, after: float, aer: float) -> dict:
    """A result of ``timing.torch_around_aer`` with these medians."""
    return {
        "torch_before": {"median_s": before},
        "torch_after": {"median_s": after},
        "aer_run": {"median_s": aer},
        "load_average": [1.5, 1.0, 0.5],
    }


def test_aer_check_compares_torch_before_and_after_aer_runs():
    check = timing.aer_check(_around_aer(0.5, 0.55, 0.2), _around_aer(0.5, 1.3, 0.1), torch_threads=2)
    assert check["agree"] and check["torch_after_over_before"] == pytest.approx(1.1)
    assert check["torch_after_over_before_without_cap"] == pytest.approx(2.6)
    assert check["aer_speedup_without_cap"] == pytest.approx(2.0) and check["torch_threads"] == 2
    assert not timing.aer_check(_around_aer(0.5, 0.6, 0.2), _around_aer(0.5, 0.5, 0.1), 2)["agree"]
    table = bench_report.aer_check_table({"aer_check": check})
    assert table["after / before"].tolist() == pytest.approx([1.1, 2.6])
    assert table["load average (1 min)"].tolist() == [1.5, 1.5]
    assert bench_report.aer_check_table({}) is None  # a benchmark written before the check


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"repeats": 0}, "repeats"),
        ({"budget_s": -1}, "budget_s"),
        ({"paths": ("qpu",)}, "qpu"),
        ({"methods": ("newton",)}, "newton"),
        ({"n_qubits": 5}, "n_qubits"),
        ({"threads": 0}, "threads"),
        ({"aer_runs": 0}, "aer_runs"),
        ({"steps": 5}, "steps"),
    ],
)
def test_bad_arguments_raise_before_work(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timing.run_benchmark(**kwargs)


def test_cli_reports_bad_input_and_help(capsys):
    assert bench.main(["--methods", "newton", "--out", "unused.json"]) == 2
    assert "newton" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--help"])
    assert exit_info.value.code == 0
