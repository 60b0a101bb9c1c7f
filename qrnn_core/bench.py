"""Runtime benchmark: one weight update per gradient method and execution path.

``python -m qrnn_core bench`` times, at the paper's scale (8 qubits, 20-step
sequences, batch 1, 110 input-layer parameters), one weight update (forward,
gradient estimate, Adam step) for each method on each execution path:

- ``seed-style``: the paper's execution, parameters bound into the measured circuit
  and one Qiskit Aer run of 1024 shots per sequence evaluation, one at a time;
- ``aer`` (all sequences of an update in one Aer call, 1024 shots), ``aer-exact``
  (Aer density matrix), ``torch`` (exact, CPU), ``torch-shots`` (1024 samples drawn
  from the exact distributions) and ``torch-cuda`` where a CUDA device exists.

Where a full update would take long (``budget_s``), the time per sequence evaluation
is measured on a sample and multiplied by the update's evaluations ("projected").
The 2969-step validation pass is measured on the torch paths and projected from the
20-step evaluations elsewhere. Everything is recorded with provenance in one JSON file.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from qiskit_aer import AerSimulator

from .aer_simulator import _step_frequencies
from .circuit import build_circuit, circuit_parameters
from .estimators import input_angles
from .model import QRNN, QRNNConfig

PATHS = ("seed-style", "aer", "aer-exact", "torch", "torch-shots", "torch-cuda")
METHODS = ("spsa", "fdsa", "param-shift", "exact")
SHOTS = 1024
WASHOUT = 5
VALIDATION_STEPS = 2969
SEQUENCES_PER_EPOCH = 1384
DEFAULT_OUT = "bench_results/bench.json"
TARGETS = {
    "torch_spsa_speedup": ("seed-style SPSA update / torch SPSA update", ">=", 100.0),
    "torch_fdsa_speedup": ("seed-style FDSA update / torch FDSA update", ">=", 100.0),
    "exact_over_spsa": ("torch exact-gradient update / torch SPSA update", "<=", 2.0),
    "validation_seconds": ("torch 2969-step validation pass (s)", "<", 1.0),
}


class SeedStyleExecutor:
    """The paper's execution style: bind one sequence's angles, one Aer run of ``shots`` shots.

    Each call binds every sequence's parameters into the measured circuit with
    ``assign_parameters`` and runs it on its own; nothing is batched. The time of each
    run is kept in :attr:`times`.
    """

    def __init__(self, n_qubits: int, steps: int, shots: int = SHOTS, seed: int = 0):
        self.circuit = build_circuit(n_qubits, steps)
        self.parameters = circuit_parameters(self.circuit, steps, n_qubits)
        self.simulator = AerSimulator()
        self.shots, self.seed, self.steps = shots, seed, steps
        self.outcomes = 2 ** (n_qubits // 2)
        self.times: list[float] = []

    def __call__(self, angles: torch.Tensor) -> torch.Tensor:
        """Per-step frequencies (N, T, M) for angles (N, T, P), one Aer run per sequence."""
        out = np.empty((angles.shape[0], self.steps, self.outcomes))
        for b, values in enumerate(angles.detach().to("cpu", torch.float64).reshape(angles.shape[0], -1).numpy()):
            start = time.perf_counter()
            bound = self.circuit.assign_parameters(dict(zip(self.parameters, values.tolist())))
            result = self.simulator.run(bound, shots=self.shots, seed_simulator=self.seed + len(self.times)).result()
            out[b] = _step_frequencies(result.get_counts(), self.steps, self.outcomes, self.shots)
            self.times.append(time.perf_counter() - start)
        return torch.from_numpy(out)


class SeedStyleQRNN(QRNN):
    """A QRNN whose sequence evaluations go through a :class:`SeedStyleExecutor`."""

    def __init__(self, config: QRNNConfig, seed: int, executor: SeedStyleExecutor):
        super().__init__(config, seed=seed)
        self.executor = executor

    def evaluate(self, angles: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.executor(angles).to(angles)


def path_available(path: str) -> str | None:
    """``None`` if ``path`` can run here, else the reason it cannot."""
    if path == "torch-cuda" and not torch.cuda.is_available():
        return "not available: no CUDA device"
    return None


def method_applies(path: str, method: str) -> str | None:
    """``None`` if ``method`` runs on ``path``, else why not (autograd needs the exact torch simulator)."""
    if method == "exact" and path not in ("torch", "torch-cuda"):
        return "not applicable: the exact gradient differentiates the exact torch simulator"
    return None


def make_model(path: str, method: str, n_qubits: int, seed: int, executor: SeedStyleExecutor | None = None) -> QRNN:
    """A QRNN configured for one execution path and gradient method."""
    backend, shots, device = {
        "seed-style": ("aer", SHOTS, "cpu"),
        "aer": ("aer", SHOTS, "cpu"),
        "aer-exact": ("aer-exact", None, "cpu"),
        "torch": ("torch", None, "cpu"),
        "torch-shots": ("torch", SHOTS, "cpu"),
        "torch-cuda": ("torch", None, "cuda"),
    }[path]
    config = QRNNConfig(n_qubits=n_qubits, method=method, backend=backend, shots=shots, device=device)
    if path == "seed-style":
        return SeedStyleQRNN(config, seed, executor)
    return QRNN(config, seed=seed)


def synthetic_batch(steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One training sequence shaped like the paper's: x in [0, 1] (1, T, 1), targets (1, T, 2)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, steps, 1, generator=generator), torch.rand(1, steps, 2, generator=generator)


def weight_update(model: QRNN, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> int:
    """One training step (MSE after the washout, backward, Adam); returns its circuit evaluations."""
    before = model.circuit_evaluations
    optimizer.zero_grad()
    washout = min(WASHOUT, x.shape[1] - 1)
    loss = ((model(x) - y.to(model.input_layer.weight))[:, washout:] ** 2).mean()
    loss.backward()
    optimizer.step()
    return model.circuit_evaluations - before


def _synchronize(model: QRNN) -> None:
    if model.config.device.startswith("cuda"):
        torch.cuda.synchronize()


def summarize(times: list[float]) -> dict:
    """Median, min, max and quartiles of a list of seconds."""
    q1, _, q3 = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else (times[0],) * 3
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "q1_s": q1,
        "q3_s": q3,
        "times_s": times,
    }


def time_updates(model: QRNN, steps: int, seed: int, repeats: int, warmup: int) -> tuple[list[float], int]:
    """Wall times of ``repeats`` weight updates after ``warmup`` untimed ones, and evaluations per update."""
    x, y = synthetic_batch(steps, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.007)
    evaluations = 0
    for _ in range(warmup):
        evaluations = weight_update(model, optimizer, x, y)
    times = []
    for _ in range(repeats):
        _synchronize(model)
        start = time.perf_counter()
        evaluations = weight_update(model, optimizer, x, y)
        _synchronize(model)
        times.append(time.perf_counter() - start)
    return times, evaluations


def time_per_evaluation(model: QRNN, steps: int, seed: int, sample: int) -> list[float]:
    """Seconds per sequence evaluation from ``sample`` evaluations at the model's angles.

    The seed-style path runs and times them one by one (one value each); batched paths
    run them in one call (one value: the call's time divided by ``sample``).
    """
    x, _ = synthetic_batch(steps, seed)
    with torch.no_grad():
        angles = input_angles(model.input_layer.weight, model.input_layer.bias, x.to(model.input_layer.weight))
        angles = angles.expand(sample, -1, -1)
        if isinstance(model, SeedStyleQRNN):
            done = len(model.executor.times)
            model.evaluate(angles)
            return model.executor.times[done:]
        _synchronize(model)
        start = time.perf_counter()
        model.evaluate(angles)
        _synchronize(model)
    return [(time.perf_counter() - start) / sample]


def time_validation(model: QRNN, steps: int, seed: int, repeats: int) -> list[float]:
    """Wall times of forward passes over one ``steps``-long sequence (no gradient), after a warm-up."""
    x, _ = synthetic_batch(steps, seed)
    x = x.to(model.input_layer.weight)
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            _synchronize(model)
            start = time.perf_counter()
            model(x)
            _synchronize(model)
            if i:
                times.append(time.perf_counter() - start)
    return times


def count_evaluations(method: str, n_qubits: int, steps: int, seed: int) -> int:
    """Sequence evaluations of one update: the forward batch plus the estimator's plan (nothing simulated).

    Measured updates check this against the model's ``circuit_evaluations`` counter.
    """
    model = make_model("torch", method, n_qubits, seed)
    x, _ = synthetic_batch(steps, seed)
    if model.estimator is None:
        return x.shape[0]
    weight, bias = model.input_layer.weight, model.input_layer.bias
    return x.shape[0] + model.estimator.plan(weight.detach(), bias.detach(), x.to(weight), model.generator).evaluations


def _record(path: str, method: str, status: str, **fields) -> dict:
    return {"path": path, "method": method, "status": status, **fields}


def bench_path(
    path: str,
    n_qubits: int,
    steps: int,
    seed: int,
    repeats: int,
    warmup: int,
    budget_s: float,
    sample: int,
    validation_steps: int,
    log: Callable[[str], None] = print,
) -> tuple[list[dict], dict]:
    """Update records for every method on one path, and its validation-pass record."""
    reason = path_available(path)
    if reason:
        rows = [_record(path, m, "not available", reason=reason) for m in METHODS]
        return rows, _record(path, "validation", "not available", reason=reason)
    executor = SeedStyleExecutor(n_qubits, steps, SHOTS, seed) if path == "seed-style" else None
    fast = path.startswith("torch")
    per_eval: list[float] = []
    if not fast:
        probe = make_model(path, "spsa", n_qubits, seed, executor)
        if warmup:
            time_per_evaluation(probe, steps, seed, 1)  # warm-up: transpilation and caches
        per_eval = time_per_evaluation(probe, steps, seed, sample)
        log(f"  {path}: {statistics.median(per_eval):.3f} s per sequence evaluation ({sample} timed)")
    rows = []
    for method in METHODS:
        why_not = method_applies(path, method)
        if why_not:
            rows.append(_record(path, method, "not applicable", reason=why_not))
            continue
        evaluations = count_evaluations(method, n_qubits, steps, seed)
        estimate = evaluations * statistics.median(per_eval) if per_eval else 0.0
        n_runs = repeats if fast else min(repeats, int(budget_s // max(estimate, 1e-9)))
        if n_runs >= 1:
            model = make_model(path, method, n_qubits, seed, executor)
            times, counted = time_updates(model, steps, seed, n_runs, warmup if fast else 0)
            if counted != evaluations:
                raise RuntimeError(f"{path}/{method}: the model counted {counted} evaluations, the plan {evaluations}")
            rows.append(_record(path, method, "measured", evaluations=evaluations, **summarize(times)))
        else:
            stats = summarize([evaluations * t for t in per_eval])
            note = f"projected: {evaluations} evaluations x time per evaluation from {sample} measured"
            rows.append(_record(path, method, "projected", evaluations=evaluations, measured_evaluations=sample,
                                projection=note, **stats))
        log(f"  {path:11s} {method:11s} {rows[-1]['status']:9s} {rows[-1]['median_s']:10.4f} s")
    if fast:
        model = make_model(path, "spsa", n_qubits, seed)
        validation = _record(path, "validation", "measured", steps=validation_steps,
                             **summarize(time_validation(model, validation_steps, seed, repeats)))
    else:
        scale = validation_steps / steps
        note = f"projected: {scale:.2f} x the {steps}-step evaluation time ({sample} measured), linear in steps"
        validation = _record(path, "validation", "projected", steps=validation_steps, measured_evaluations=sample,
                             projection=note, **summarize([scale * t for t in per_eval]))
    return rows, validation


def machine_info() -> dict:
    """CPU, cores, torch threads, GPU, package versions, git commit, load average."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    versions = {}
    for package in ("torch", "qiskit", "qiskit-aer", "numpy", "pandas"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "git_commit": commit,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def _attach_derived(records: list[dict], validations: list[dict]) -> None:
    """Add speed-ups over seed-style (same method, same run) and projected epoch hours."""
    seed = {r["method"]: r["median_s"] for r in records if r["path"] == "seed-style" and "median_s" in r}
    passes = {v["path"]: v["median_s"] for v in validations if "median_s" in v}
    for r in records:
        if "median_s" not in r:
            continue
        r["speedup_vs_seed_style"] = seed[r["method"]] / r["median_s"] if r["method"] in seed else None
        r["epoch_hours"] = (SEQUENCES_PER_EPOCH * r["median_s"] + passes.get(r["path"], 0.0)) / 3600


def evaluate_targets(records: list[dict], validations: list[dict]) -> dict:
    """Each target's measured ratio and whether it passes."""
    by = {(r["path"], r["method"]): r.get("median_s") for r in records}
    val = {v["path"]: v.get("median_s") for v in validations}

    def ratio(a, b):
        return None if a is None or b is None else a / b

    values = {
        "torch_spsa_speedup": ratio(by.get(("seed-style", "spsa")), by.get(("torch", "spsa"))),
        "torch_fdsa_speedup": ratio(by.get(("seed-style", "fdsa")), by.get(("torch", "fdsa"))),
        "exact_over_spsa": ratio(by.get(("torch", "exact")), by.get(("torch", "spsa"))),
        "validation_seconds": val.get("torch"),
    }
    checks = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t}
    out = {}
    for key, (what, op, threshold) in TARGETS.items():
        value = values[key]
        out[key] = {"what": what, "target": f"{op} {threshold:g}", "value": value,
                    "pass": None if value is None else bool(checks[op](value, threshold))}
    return out


def _check_positive_int(name: str, value: int, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def run_benchmark(
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 1920,
    n_qubits: int = 8,
    steps: int = 20,
    budget_s: float = 60.0,
    sample: int = 3,
    validation_steps: int = VALIDATION_STEPS,
    paths: tuple[str, ...] = PATHS,
    sweep: dict | None = None,
    threads: int = 1,
    log: Callable[[str], None] = print,
) -> dict:
    """Time one weight update per method and path; return the benchmark as a JSON-ready dict.

    ``budget_s`` bounds the time spent on full updates of one method on a slow path
    (beyond it, the update is projected from ``sample`` timed evaluations). ``sweep``
    is passed to :func:`scaling_sweep` as keyword arguments (``None``: no sweep).
    ``threads`` sets torch's intra-op threads for the run (restored afterwards): the
    simulator's matrices are small, and one thread avoids OpenMP synchronisation, which
    costs most when other processes share the cores.
    """
    _check_positive_int("repeats", repeats)
    _check_positive_int("warmup", warmup, 0)
    _check_positive_int("sample", sample)
    _check_positive_int("steps", steps, WASHOUT + 1)
    _check_positive_int("validation_steps", validation_steps)
    _check_positive_int("threads", threads)
    if not isinstance(budget_s, (int, float)) or not budget_s > 0:
        raise ValueError(f"budget_s must be a positive number of seconds, got {budget_s!r}")
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        raise ValueError(f"unknown paths {unknown}; allowed: {', '.join(PATHS)}")
    QRNNConfig(n_qubits=n_qubits)  # validates n_qubits
    config = {"repeats": repeats, "warmup": warmup, "seed": seed, "n_qubits": n_qubits, "steps": steps,
              "batch": 1, "shots": SHOTS, "budget_s": budget_s, "sample": sample,
              "validation_steps": validation_steps, "sequences_per_epoch": SEQUENCES_PER_EPOCH, "paths": list(paths),
              "threads": threads}
    torch.manual_seed(seed)
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        machine = machine_info()
        records, validations = [], []
        for path in paths:
            log(f"path {path}")
            rows, validation = bench_path(path, n_qubits, steps, seed, repeats, warmup, budget_s, sample,
                                          validation_steps, log)
            records.extend(rows)
            validations.append(validation)
        sweep_result = None if sweep is None else scaling_sweep(seed=seed, log=log, **sweep)
    finally:
        torch.set_num_threads(previous_threads)
    _attach_derived(records, validations)
    result = {
        "config": config,
        "machine": machine,
        "updates": records,
        "validation": validations,
        "targets": evaluate_targets(records, validations),
        "epoch_definition": f"{SEQUENCES_PER_EPOCH} weight updates (median) + one validation pass",
    }
    if sweep_result is not None:
        result["sweep"] = sweep_result
    result["wall_seconds"] = time.perf_counter() - started
    result["machine"]["load_average_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    return result


def scaling_sweep(
    qubits: tuple[int, ...] = (4, 6, 8),
    lengths: tuple[int, ...] = (10, 20, 40),
    steps: int = 20,
    length_qubits: int = 8,
    repeats: int = 1,
    warmup: int = 1,
    seed: int = 1920,
    log: Callable[[str], None] = print,
) -> dict:
    """Torch (exact, CPU) update time per method vs qubits (at ``steps``) and vs sequence length (at ``length_qubits``)."""
    _check_positive_int("repeats", repeats)
    points = [("qubits", n, n, steps) for n in qubits] + [("length", t, length_qubits, t) for t in lengths]
    rows, timed = [], {}
    for axis, value, n, t in points:
        for method in METHODS:
            if (n, t, method) not in timed:  # a point on both axes is timed once
                times, evaluations = time_updates(make_model("torch", method, n, seed), t, seed, repeats, warmup)
                timed[n, t, method] = {"parameters": 2 * (7 * n - 1), "evaluations": evaluations, **summarize(times)}
            rows.append({"axis": axis, "value": value, "n_qubits": n, "steps": t, "method": method, **timed[n, t, method]})
            log(f"  sweep {axis}={value:3d} {method:11s} {rows[-1]['median_s']:.4f} s ({rows[-1]['evaluations']} evaluations)")
    return {"config": {"qubits": list(qubits), "lengths": list(lengths), "steps": steps, "length_qubits": length_qubits,
                       "repeats": repeats, "warmup": warmup, "seed": seed, "path": "torch"},
            "rows": rows}


def write_json(data: dict, path: str | Path) -> Path:
    """Write ``data`` as JSON atomically (temporary file, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def load_benchmark(path: str | Path) -> dict:
    """Read a benchmark JSON written by :func:`write_json`."""
    with open(path) as f:
        return json.load(f)


def update_table(result: dict) -> pd.DataFrame:
    """Time per weight update: one row per (path, method) with status, spread and speed-up."""
    columns = ["path", "method", "status", "evaluations", "median_s", "min_s", "max_s",
               "speedup_vs_seed_style", "measured_evaluations", "reason"]
    return pd.DataFrame(result["updates"]).reindex(columns=columns)


def epoch_table(result: dict) -> pd.DataFrame:
    """Projected hours per 1384-sequence epoch (updates plus one validation pass) per (path, method)."""
    table = pd.DataFrame([r for r in result["updates"] if "median_s" in r])
    return table.pivot(index="method", columns="path", values="epoch_hours").reindex(METHODS)


def validation_table(result: dict) -> pd.DataFrame:
    """Time of one validation pass per path."""
    return pd.DataFrame(result["validation"]).reindex(columns=["path", "status", "steps", "median_s", "min_s", "max_s", "reason"])


def targets_table(result: dict) -> pd.DataFrame:
    """The speed targets with their measured values."""
    return pd.DataFrame.from_dict(result["targets"], orient="index")


def sweep_table(sweep: dict) -> pd.DataFrame:
    """The scaling sweep as a table."""
    return pd.DataFrame(sweep["rows"]).drop(columns=["times_s"])


def format_report(result: dict) -> str:
    """The printed summary: update times, validation passes, epochs and targets."""
    fmt = lambda v: f"{v:.4g}"  # noqa: E731
    with pd.option_context("display.width", 160):
        return "\n".join([
            "Time per weight update (s), median over repeats; 'projected' = evaluations x measured time per evaluation",
            update_table(result).drop(columns=["reason"]).to_string(index=False, float_format=fmt),
            f"\nValidation pass ({result['config']['validation_steps']} steps)",
            validation_table(result).to_string(index=False, float_format=fmt),
            "\nHours per epoch (" + result["epoch_definition"] + ")",
            epoch_table(result).to_string(float_format=fmt),
            "\nTargets",
            targets_table(result).to_string(float_format=fmt),
        ])


QUICK = {"repeats": 1, "warmup": 0, "sample": 1, "budget_s": 1e-9,
         "sweep": {"qubits": (2, 4), "lengths": (6, 8), "steps": 6, "length_qubits": 4, "warmup": 0}}


def main(argv: list[str] | None = None) -> int:
    """``python -m qrnn_core bench``: run the benchmark, print the table, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m qrnn_core bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"JSON output path (default {DEFAULT_OUT})")
    parser.add_argument("--repeats", type=int, default=3, help="timed updates per method and path (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed updates (torch paths) or evaluations (others) before timing (default 1)")
    parser.add_argument("--seed", type=int, default=1920, help="seed of the models and data (default 1920)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds of full updates per method on a slow path before projecting (default 60)")
    parser.add_argument("--sample", type=int, default=3, help="timed evaluations for projections (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads during the run (default 1)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the qubits / sequence-length scaling sweep")
    parser.add_argument("--quick", action="store_true",
                        help="smoke scale: 1 repeat, every slow-path update projected from 1 evaluation, tiny sweep")
    args = parser.parse_args(argv)
    options = dict(QUICK) if args.quick else {"repeats": args.repeats, "warmup": args.warmup, "sample": args.sample,
                                              "budget_s": args.budget, "sweep": {}}
    if args.no_sweep:
        options["sweep"] = None
    result = run_benchmark(seed=args.seed, threads=args.threads, **options)
    result["config"]["command"] = ["python", "-m", "qrnn_core", "bench", *(sys.argv[2:] if argv is None else argv)]
    print(format_report(result))
    print(f"\nwrote {write_json(result, args.out)} ({result['wall_seconds']:.0f} s)")
    return 0


def paper_epoch_table(paper: dict) -> pd.DataFrame:
    """The paper's hours per epoch: Table 1 as printed beside the authors' slides and plot script.

    A third column multiplies the reported time per update by the sequences per epoch,
    which shows which of the two FDSA assignments is consistent with Figure 1.
    """
    printed = {k.replace("2x A100", "GPU"): v for k, v in paper["per_epoch_hours_paper_table_1_as_printed"].items()}
    slides = paper["per_epoch_hours_authors_slides_and_plot_script"]
    per_update = {("FDSA (GPU)" if "GPU" in k else k.split(",")[0] + ")"): v for k, v in paper["per_update_seconds"].items()}
    rows = sorted(set(printed) | set(slides))
    return pd.DataFrame({
        "Table 1 as printed (h)": [printed.get(r) for r in rows],
        "slides / plot script (h)": [slides.get(r) for r in rows],
        "reported s/update x 1384 (h)": [per_update[r] * paper["sequences_per_epoch"] / 3600 if r in per_update else None
                                         for r in rows],
    }, index=pd.Index(rows, name="paper row"))


def update_plot_frame(result: dict, paper: dict) -> pd.DataFrame:
    """Bars of the time-per-update figure: this run's measured/projected rows and the paper's reported ones."""
    rows = [{"label": f"{r['method']} · {r['path']}", "method": r["method"], "source": r["path"], "seconds": r["median_s"],
             "low": r["min_s"], "high": r["max_s"], "kind": r["status"],
             "note": f"projected from {r['measured_evaluations']} of {r['evaluations']} evaluations"
             if r["status"] == "projected" else f"measured, {len(r['times_s'])} repeats"}
            for r in result["updates"] if "median_s" in r]
    for name, seconds in paper["per_update_seconds"].items():
        rows.append({"label": f"{name.split(' ')[0].lower()} · paper {name[name.index('('):]}", "method": name.split(" ")[0].lower(),
                     "source": "paper", "seconds": seconds, "low": seconds, "high": seconds, "kind": "reported",
                     "note": "reported by the paper"})
    order = {m: i for i, m in enumerate(METHODS)}
    return pd.DataFrame(rows).sort_values(["method", "seconds"], key=lambda s: s.map(order) if s.name == "method" else s)


def plot_update_times(frame: pd.DataFrame, ax=None):
    """Horizontal log-scale bars of seconds per update; projected bars hatched, paper's in grey."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.32 * len(frame) + 1.5))
    palette = dict(zip(PATHS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    palette["paper"] = "0.55"
    y = np.arange(len(frame))
    for yi, row in zip(y, frame.itertuples()):
        ax.barh(yi, row.seconds, color=palette[row.source], hatch="//" if row.kind == "projected" else None,
                edgecolor="white" if row.kind != "projected" else "black", linewidth=0.5)
        if row.kind == "measured" and row.high > row.low:
            ax.plot([row.low, row.high], [yi, yi], color="black", linewidth=1)
        ax.text(row.seconds * 1.15, yi, f"{row.seconds:.3g} s ({row.kind})", va="center", fontsize=8)
    ax.set_yticks(y, frame["label"])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(right=frame["seconds"].max() * 40)
    ax.set_xlabel("seconds per weight update (log scale)")
    return ax.figure


def plot_scaling(sweep: dict):
    """Torch update time per method against qubits and against sequence length (log y)."""
    import matplotlib.pyplot as plt

    table = sweep_table(sweep)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, axis, label in zip(axes, ("qubits", "length"), ("qubits (sequence length %d)" % sweep["config"]["steps"],
                                                            "sequence length (%d qubits)" % sweep["config"]["length_qubits"])):
        part = table[table["axis"] == axis]
        for method in METHODS:
            rows = part[part["method"] == method]
            ax.plot(rows["value"], rows["median_s"], marker="o", label=method)
        ax.set_xlabel(label)
        ax.set_xticks(sorted(part["value"].unique()))
        ax.set_yscale("log")
    axes[0].set_ylabel("seconds per weight update (torch, CPU)")
    axes[1].legend(title="gradient")
    fig.tight_layout()
    return fig


def growth_exponents(sweep: dict) -> pd.DataFrame:
    """Log-log slope of update time against sequence length, and time ratio per 2 qubits, per method."""
    table = sweep_table(sweep)
    out = {}
    for method in METHODS:
        length = table[(table["axis"] == "length") & (table["method"] == method)]
        qubits = table[(table["axis"] == "qubits") & (table["method"] == method)].sort_values("value")
        slope = np.polyfit(np.log(length["value"]), np.log(length["median_s"]), 1)[0] if len(length) > 1 else None
        ratio = float(np.exp(np.mean(np.diff(np.log(qubits["median_s"]))))) if len(qubits) > 1 else None
        out[method] = {"time ~ length^k, k": slope, "time ratio per +2 qubits": ratio,
                       "evaluations per update (largest qubits)": int(qubits["evaluations"].iloc[-1]) if len(qubits) else None}
    return pd.DataFrame.from_dict(out, orient="index")
