"""Runtime benchmark, the timing half: one weight update per gradient method and execution path.

:func:`run_benchmark` times, at the paper's scale (8 qubits, 20-step sequences, batch 1,
110 input-layer parameters), one weight update (forward, gradient estimate, Adam step)
for each registered gradient method on each execution path:

- ``seed-style``: the paper's execution, parameters bound into the measured circuit
  and one Qiskit Aer run of 1024 shots per sequence evaluation, one at a time;
- ``aer`` (all sequences of an update in one Aer call, 1024 shots), ``aer-exact``
  (Aer density matrix), ``torch`` (exact, CPU), ``torch-shots`` (1024 samples drawn
  from the exact distributions) and ``torch-cuda`` where a CUDA device exists.

Where a full update would take long (``budget_s``), the time per sequence evaluation
is measured on a sample and multiplied by the update's evaluations ("projected").
The 2969-step validation pass is measured on the torch paths and projected from the
20-step evaluations elsewhere.

Every Aer run here is capped at one OpenMP thread (:data:`qrnn_core.aer_simulator.THREAD_CAP`).
:func:`torch_around_aer` checks that this keeps the torch simulator's speed: it times torch
validation passes (at torch's default thread count) before and after the process's first
Aer runs, and again around uncapped Aer runs at the very end, which also gives Aer's time
per run with and without the cap. The result is a JSON-ready dict with provenance; the
tables are in :mod:`qrnn_study.bench_report`, the plots in :mod:`qrnn_study.figures`.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict

import numpy as np
import torch

from qrnn_core.aer_simulator import THREAD_CAP, _step_frequencies, new_simulator
from qrnn_core.backends import backend_names, backend_spec, cuda_available, uses_cuda
from qrnn_core.checks import check_choice, check_int, check_positive
from qrnn_core.circuit import angles_per_step, build_circuit, check_n_qubits, circuit_parameters
from qrnn_core.estimators import input_angles, method_names, method_spec
from qrnn_core.model import QRNN, QRNNConfig
from qrnn_core.noise import NoiseModel
from qrnn_core.optimizers import LayerOptimizer
from qrnn_core.protocol import LEARNING_RATE, N_QUBITS, SEQ_LEN, SHOTS, TRAIN_WINDOWS, VALIDATION_STEPS, WASHOUT
from qrnn_core.provenance import load_average, provenance
from qrnn_core.training import update_step

SEED_STYLE = "seed-style"
TARGETS = {
    "torch_spsa_speedup": ("seed-style SPSA update / torch SPSA update", ">=", 100.0),
    "torch_fdsa_speedup": ("seed-style FDSA update / torch FDSA update", ">=", 100.0),
    "exact_over_spsa": ("torch exact-gradient update / torch SPSA update", "<=", 2.0),
    "validation_seconds": (f"torch {VALIDATION_STEPS}-step validation pass (s)", "<", 1.0),
    "noisy_over_noiseless": ("torch validation pass with device noise / without (qrnn_core.noise)", "<=", 2.0),
}
# Device noise of FakeMarrakesh's size, by hand (the cost does not depend on the rates): qrnn_core.noise's fast path.
BENCH_NOISE = {"readout": 0.01, "t1": 250e-6, "t2": 200e-6, "step_duration": 6.9e-6, "layer": 8e-4, "crx": 7e-3}
AER_CHECK_TOLERANCE = 0.15  # torch validation after Aer runs / before: agreement within this relative difference


def execution_paths() -> dict[str, tuple[str, int | None, str]]:
    """Every execution path, with the (backend, shots, device) of its model, from the backend registry.

    ``seed-style`` (the paper's execution) comes first, then the backends that are not
    differentiable (the slow ones), then the others. Each backend gives a path of its own
    name (exact distributions, or :data:`SHOTS` shots where it is not exact), ``<name>-shots``
    when it is exact and also samples shots, and ``<name>-cuda`` when it runs on CUDA.

    Example:
        >>> list(execution_paths())
        ['seed-style', 'aer', 'aer-exact', 'torch', 'torch-shots', 'torch-cuda']
    """
    paths: dict[str, tuple[str, int | None, str]] = {SEED_STYLE: ("aer", SHOTS, "cpu")}
    for spec in sorted((backend_spec(name) for name in backend_names()), key=lambda spec: spec.differentiable):
        shots = None if spec.exact else SHOTS
        paths[spec.name] = (spec.name, shots, "cpu")
        if spec.exact and spec.shots:
            paths[f"{spec.name}-shots"] = (spec.name, SHOTS, "cpu")
        if "cuda" in spec.devices:
            paths[f"{spec.name}-cuda"] = (spec.name, shots, "cuda")
    return paths


def path_for(backend: str, shots: int | None, device: str) -> str:
    """The execution path that times a run on ``backend`` with ``shots`` on ``device`` (any number of shots).

    Example:
        >>> path_for("torch", 100, "cpu"), path_for("torch", None, "cuda:0"), path_for("aer", None, "cpu")
        ('torch-shots', 'torch-cuda', 'aer')
    """
    paths, spec = execution_paths(), backend_spec(backend)
    if uses_cuda(device) and f"{backend}-cuda" in paths:
        return f"{backend}-cuda"
    if shots is not None and spec.exact and f"{backend}-shots" in paths:
        return f"{backend}-shots"
    return backend


class SeedStyleExecutor:
    """The paper's execution style: bind one sequence's angles, one Aer run of ``shots`` shots.

    Each call binds every sequence's parameters into the measured circuit with
    ``assign_parameters`` and runs it on its own; nothing is batched. The time of each
    run is kept in :attr:`times`. Aer runs on one OpenMP thread, like every Aer run of
    this package, unless ``capped`` is False (see :func:`qrnn_core.aer_simulator.new_simulator`).
    """

    def __init__(self, n_qubits: int, steps: int, shots: int = SHOTS, seed: int = 0, capped: bool = True):
        self.circuit = build_circuit(n_qubits, steps)
        self.parameters = circuit_parameters(self.circuit, steps, n_qubits)
        self.simulator = new_simulator(capped)
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

    def evaluate(self, angles: torch.Tensor) -> torch.Tensor:
        """Readout frequencies of the paper's execution, one Aer run per sequence."""
        return self.executor(angles).to(angles)


def path_available(path: str) -> str | None:
    """``None`` if ``path`` can run here, else the reason it cannot."""
    if uses_cuda(execution_paths()[path][2]) and not cuda_available():
        return "not available: no CUDA device"
    return None


def method_applies(path: str, method: str) -> str | None:
    """``None`` if ``method`` runs on ``path``, else why not (autograd needs the exact torch simulator)."""
    backend, shots, _ = execution_paths()[path]
    if method_spec(method).autograd and (not backend_spec(backend).differentiable or shots is not None):
        return "not applicable: the exact gradient differentiates the exact torch simulator"
    return None


def make_model(path: str, method: str, n_qubits: int, seed: int, executor: SeedStyleExecutor | None = None) -> QRNN:
    """A QRNN configured for one execution path and gradient method."""
    backend, shots, device = execution_paths()[path]
    config = QRNNConfig(n_qubits=n_qubits, method=method, backend=backend, shots=shots, device=device)
    if path == SEED_STYLE:
        return SeedStyleQRNN(config, seed, executor)
    return QRNN(config, seed=seed)


def synthetic_batch(steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One training sequence shaped like the paper's: x in [0, 1] (1, T, 1), targets (1, T, 2)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(1, steps, 1, generator=generator), torch.rand(1, steps, 2, generator=generator)


def weight_update(model: QRNN, optimizer: LayerOptimizer, x: torch.Tensor, y: torch.Tensor) -> int:
    """One training step exactly as the trainer makes it (loss after the washout); returns its circuit evaluations."""
    before = model.circuit_evaluations
    update_step(model, optimizer, x, y, min(WASHOUT, x.shape[1] - 1))
    return model.circuit_evaluations - before


def _synchronize(model: QRNN) -> None:
    if uses_cuda(model.config.device):
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
    optimizer = LayerOptimizer(model, "adam", LEARNING_RATE, LEARNING_RATE)
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


def noise_cost(scale: Scale) -> dict:
    """Median torch validation pass without and with device noise (:data:`BENCH_NOISE`), and their ratio."""
    noise = NoiseModel.by_hand(scale.n_qubits, **BENCH_NOISE)
    seconds = {}
    for label, model_noise in (("noiseless_s", None), ("noisy_s", noise)):
        model = QRNN(QRNNConfig(n_qubits=scale.n_qubits, noise=model_noise), seed=scale.seed)
        seconds[label] = statistics.median(time_validation(model, scale.validation_steps, scale.seed, scale.repeats))
    return seconds | {"ratio": seconds["noisy_s"] / seconds["noiseless_s"]}


def time_aer_runs(n_qubits: int, steps: int, seed: int, runs: int, capped: bool) -> list[float]:
    """Wall times of ``runs`` seed-style Aer runs (one ``steps``-step circuit, 1024 shots each) after one untimed.

    ``capped``: Aer on one OpenMP thread (this package's setting) or on its default threads.
    """
    executor = SeedStyleExecutor(n_qubits, steps, SHOTS, seed, capped=capped)
    generator = torch.Generator().manual_seed(seed)
    angles = (2 * torch.rand(runs + 1, steps, angles_per_step(n_qubits), generator=generator) - 1) * torch.pi
    executor(angles)
    return executor.times[1:]


def torch_around_aer(
    capped: bool,
    n_qubits: int,
    steps: int,
    validation_steps: int,
    seed: int,
    repeats: int,
    aer_runs: int,
    torch_threads: int,
) -> dict:
    """Torch validation passes before and after ``aer_runs`` Aer runs in this process, and the Aer runs' times.

    The torch passes run on ``torch_threads`` threads (Aer's threads slow down a multi-threaded
    torch, not a single-threaded one); ``capped`` selects Aer's thread setting as in
    :func:`time_aer_runs`. Aer's threads stay for the rest of the process, so uncapped runs
    belong at the end of a benchmark.
    """
    model = make_model("torch", "spsa", n_qubits, seed)
    previous = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        before = time_validation(model, validation_steps, seed, repeats)
        aer = time_aer_runs(n_qubits, steps, seed, aer_runs, capped)
        after = time_validation(model, validation_steps, seed, repeats)
    finally:
        torch.set_num_threads(previous)
    return {
        "aer_capped": capped,
        "torch_before": summarize(before),
        "aer_run": summarize(aer),
        "torch_after": summarize(after),
        "load_average": load_average(),
    }


def aer_check(with_cap: dict, without_cap: dict, torch_threads: int) -> dict:
    """The regression check of :func:`torch_around_aer`'s two runs, and what the cap costs Aer.

    ``agree``: the torch validation pass after the (capped) Aer runs is within
    :data:`AER_CHECK_TOLERANCE` of the one before them.
    """

    def ratio(run: dict) -> float:
        return run["torch_after"]["median_s"] / run["torch_before"]["median_s"]

    return {
        "torch_threads": torch_threads,
        "tolerance": AER_CHECK_TOLERANCE,
        "torch_after_over_before": ratio(with_cap),
        "agree": abs(ratio(with_cap) - 1) <= AER_CHECK_TOLERANCE,
        "torch_after_over_before_without_cap": ratio(without_cap),
        "aer_speedup_without_cap": with_cap["aer_run"]["median_s"] / without_cap["aer_run"]["median_s"],
        "with_cap": with_cap,
        "without_cap": without_cap,
    }


def count_evaluations(method: str, n_qubits: int, steps: int) -> int:
    """Sequence evaluations of one update of one sequence, as the method's registry entry states them.

    Measured updates check this against the model's ``circuit_evaluations`` counter.
    """
    config = QRNNConfig(n_qubits=n_qubits, method=method)
    n_params = config.n_angles * (config.in_dim * config.context_length + 1)
    return method_spec(method).evaluations_per_sequence(config.estimator_options, n_params, steps)


@dataclass(frozen=True)
class Scale:
    """The sizes and budgets of one benchmark (see :func:`run_benchmark`), checked."""

    n_qubits: int = N_QUBITS
    steps: int = SEQ_LEN
    seed: int = 1920
    repeats: int = 3
    warmup: int = 1
    budget_s: float = 60.0
    sample: int = 3
    validation_steps: int = VALIDATION_STEPS

    def __post_init__(self) -> None:
        check_int("repeats", self.repeats, 1)
        check_int("warmup", self.warmup, 0)
        check_int("sample", self.sample, 1)
        check_int("steps", self.steps, WASHOUT + 1)
        check_int("validation_steps", self.validation_steps, 1)
        check_int("seed", self.seed, 0)
        check_positive("budget_s", self.budget_s)
        check_n_qubits(self.n_qubits)


def _record(path: str, method: str, status: str, **fields) -> dict:
    return {"path": path, "method": method, "status": status, **fields}


def _seconds_per_evaluation(
    path: str, scale: Scale, executor: SeedStyleExecutor | None, log: Callable[[str], None]
) -> list[float]:
    """Seconds per sequence evaluation on ``path``, from ``scale.sample`` timed after a warm-up."""
    probe = make_model(path, "spsa", scale.n_qubits, scale.seed, executor)
    if scale.warmup:
        time_per_evaluation(probe, scale.steps, scale.seed, 1)  # warm-up: transpilation and caches
    per_eval = time_per_evaluation(probe, scale.steps, scale.seed, scale.sample)
    log(f"  {path}: {statistics.median(per_eval):.3f} s per sequence evaluation ({scale.sample} timed)")
    return per_eval


def _method_record(
    path: str, method: str, scale: Scale, per_eval: list[float], executor: SeedStyleExecutor | None
) -> dict:
    """One method's update on ``path``: timed in full (within the budget), projected from ``per_eval``, or n/a.

    ``per_eval`` empty: the path is fast, and ``scale.repeats`` updates are timed after ``scale.warmup``.
    """
    why_not = method_applies(path, method)
    if why_not:
        return _record(path, method, "not applicable", reason=why_not)
    evaluations = count_evaluations(method, scale.n_qubits, scale.steps)
    estimate = evaluations * statistics.median(per_eval) if per_eval else 0.0
    n_runs = min(scale.repeats, int(scale.budget_s // max(estimate, 1e-9))) if per_eval else scale.repeats
    if n_runs >= 1:
        model = make_model(path, method, scale.n_qubits, scale.seed, executor)
        times, counted = time_updates(model, scale.steps, scale.seed, n_runs, 0 if per_eval else scale.warmup)
        if counted != evaluations:
            raise RuntimeError(
                f"{path}/{method}: the model counted {counted} evaluations, the registry states {evaluations}"
            )
        return _record(path, method, "measured", evaluations=evaluations, **summarize(times))
    note = f"projected: {evaluations} evaluations x time per evaluation from {scale.sample} measured"
    times = [evaluations * t for t in per_eval]
    return _record(
        path,
        method,
        "projected",
        evaluations=evaluations,
        measured_evaluations=scale.sample,
        projection=note,
        **summarize(times),
    )


def _validation_record(path: str, scale: Scale, per_eval: list[float]) -> dict:
    """The validation pass on ``path``: measured on a fast path, else projected linearly from ``per_eval``."""
    steps = scale.validation_steps
    if not per_eval:
        times = time_validation(make_model(path, "spsa", scale.n_qubits, scale.seed), steps, scale.seed, scale.repeats)
        return _record(path, "validation", "measured", steps=steps, **summarize(times))
    factor = steps / scale.steps
    note = (
        f"projected: {factor:.2f} x the {scale.steps}-step evaluation time ({scale.sample} measured), linear in steps"
    )
    times = [factor * t for t in per_eval]
    return _record(
        path,
        "validation",
        "projected",
        steps=steps,
        measured_evaluations=scale.sample,
        projection=note,
        **summarize(times),
    )


def bench_path(
    path: str, methods: tuple[str, ...], scale: Scale, log: Callable[[str], None] = print
) -> tuple[list[dict], dict]:
    """Update records for every method on one path, and its validation-pass record.

    A path on a differentiable backend (torch) is fast: every update is timed in full. On
    the others the time per sequence evaluation is measured first; an update is timed in
    full while it fits ``scale.budget_s``, else projected from that time.
    """
    reason = path_available(path)
    if reason:
        rows = [_record(path, m, "not available", reason=reason) for m in methods]
        return rows, _record(path, "validation", "not available", reason=reason)
    executor = SeedStyleExecutor(scale.n_qubits, scale.steps, SHOTS, scale.seed) if path == SEED_STYLE else None
    fast = backend_spec(execution_paths()[path][0]).differentiable
    per_eval = [] if fast else _seconds_per_evaluation(path, scale, executor, log)
    rows = []
    for method in methods:
        rows.append(_method_record(path, method, scale, per_eval, executor))
        if "median_s" in rows[-1]:
            log(f"  {path:11s} {method:11s} {rows[-1]['status']:9s} {rows[-1]['median_s']:10.4f} s")
    return rows, _validation_record(path, scale, per_eval)


def attach_derived(records: list[dict], validations: list[dict], sequences_per_epoch: int = TRAIN_WINDOWS) -> None:
    """Add speed-ups over seed-style (same method, same run) and projected epoch hours to ``records``."""
    seed = {r["method"]: r["median_s"] for r in records if r["path"] == "seed-style" and "median_s" in r}
    passes = {v["path"]: v["median_s"] for v in validations if "median_s" in v}
    for r in records:
        if "median_s" not in r:
            continue
        r["speedup_vs_seed_style"] = seed[r["method"]] / r["median_s"] if r["method"] in seed else None
        r["epoch_hours"] = (sequences_per_epoch * r["median_s"] + passes.get(r["path"], 0.0)) / 3600


def evaluate_targets(records: list[dict], validations: list[dict], noise: dict | None = None) -> dict:
    """Each target's measured ratio and whether it passes (``noise``: :func:`noise_cost`'s result, if measured)."""
    by = {(r["path"], r["method"]): r.get("median_s") for r in records}
    val = {v["path"]: v.get("median_s") for v in validations}

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a / b

    values = {
        "torch_spsa_speedup": ratio(by.get(("seed-style", "spsa")), by.get(("torch", "spsa"))),
        "torch_fdsa_speedup": ratio(by.get(("seed-style", "fdsa")), by.get(("torch", "fdsa"))),
        "exact_over_spsa": ratio(by.get(("torch", "exact")), by.get(("torch", "spsa"))),
        "validation_seconds": val.get("torch"),
        "noisy_over_noiseless": None if noise is None else noise["ratio"],
    }
    checks = {">=": lambda v, t: v >= t, "<=": lambda v, t: v <= t, "<": lambda v, t: v < t}
    out = {}
    for key, (what, op, threshold) in TARGETS.items():
        value = values[key]
        out[key] = {
            "what": what,
            "target": f"{op} {threshold:g}",
            "value": value,
            "pass": None if value is None else bool(checks[op](value, threshold)),
        }
    return out


class Benchmark(TypedDict):
    """The benchmark :func:`run_benchmark` returns and ``python -m qrnn_study bench`` writes as JSON: the one
    description of that file, read back by :func:`load_benchmark` (the report, the plan's projection and the front
    page read it through this type).

    ``config``: the checked arguments (repeats, n_qubits, steps, shots, paths, methods, threads, ...);
    ``provenance``: :func:`qrnn_core.provenance.provenance` (versions, commit, device); ``updates``: one record
    per (path, method): status, median_s and spread, or the reason it was not timed; ``validation``: one record
    per path; ``targets``: the speed targets and whether each is met; ``noise``: the noisy/noiseless cost;
    ``aer_check``: torch timed around Aer runs, with and without Aer's thread cap.
    """

    config: dict
    provenance: dict
    updates: list[dict]
    validation: list[dict]
    targets: dict
    noise: dict
    aer_check: dict | None
    epoch_definition: str
    sweep: NotRequired[dict]  # only with a scaling sweep
    wall_seconds: float
    load_average_end: list[float] | None


def load_benchmark(path: str | Path) -> Benchmark:
    """Read a benchmark JSON written by ``python -m qrnn_study bench`` (or the runtime chapter).

    Raises:
        ValueError: the file lacks a field of :class:`Benchmark` (written by another version).
    """
    data = json.loads(Path(path).read_text())
    missing = sorted(key for key in Benchmark.__annotations__ if key not in data and key != "sweep")
    if missing:
        raise ValueError(f"{path} is not a benchmark of this version: it lacks {', '.join(missing)}; run `make bench`")
    return Benchmark(**data)  # type: ignore[typeddict-item]


def run_benchmark(
    repeats: int = 3,
    warmup: int = 1,
    seed: int = 1920,
    n_qubits: int = N_QUBITS,
    steps: int = SEQ_LEN,
    budget_s: float = 60.0,
    sample: int = 3,
    validation_steps: int = VALIDATION_STEPS,
    paths: tuple[str, ...] | None = None,
    methods: tuple[str, ...] | None = None,
    sweep: dict | None = None,
    threads: int = 1,
    aer_runs: int = 3,
    log: Callable[[str], None] = print,
) -> Benchmark:
    """Time one weight update per method and path; return the benchmark (JSON-ready, :class:`Benchmark`).

    ``paths`` defaults to every :func:`execution_paths` path, ``methods`` to every registered
    gradient method. ``budget_s`` bounds the time spent on full updates of one method on a
    slow path (beyond it, the update is projected from ``sample`` timed evaluations).
    ``sweep`` is passed to :func:`scaling_sweep` as keyword arguments (``None``: no sweep).
    ``threads`` sets torch's intra-op threads for the run (restored afterwards): the
    simulator's matrices are small, and one thread avoids OpenMP synchronisation, which costs
    most when other processes share the cores. Before anything else and again at the end,
    :func:`torch_around_aer` times ``repeats`` torch validation passes (at torch's default
    threads) around ``aer_runs`` Aer runs, with and without Aer's thread cap; :func:`aer_check`
    compares them.

    Raises:
        ValueError: a bad argument (before any work), named with what is allowed.
    """
    scale = Scale(n_qubits, steps, seed, repeats, warmup, budget_s, sample, validation_steps)
    check_int("threads", threads, 1)
    check_int("aer_runs", aer_runs, 1)
    known = execution_paths()
    paths = tuple(known) if paths is None else tuple(check_choice("path", path, known) for path in paths)
    registered = method_names()
    methods = registered if methods is None else tuple(check_choice("gradient method", m, registered) for m in methods)
    config = {
        "repeats": repeats,
        "warmup": warmup,
        "seed": seed,
        "n_qubits": n_qubits,
        "steps": steps,
        "batch": 1,
        "shots": SHOTS,
        "budget_s": budget_s,
        "sample": sample,
        "validation_steps": validation_steps,
        "sequences_per_epoch": TRAIN_WINDOWS,
        "paths": list(paths),
        "methods": list(methods),
        "threads": threads,
        "aer_runs": aer_runs,
        "aer_thread_cap": dict(THREAD_CAP),
    }
    return _measure(config, scale, sweep, log)


def _measure(config: dict, scale: Scale, sweep: dict | None, log: Callable[[str], None]) -> Benchmark:
    """The timings of :func:`run_benchmark` for its checked ``config``, on ``config["threads"]`` torch threads."""
    paths, methods = tuple(config["paths"]), tuple(config["methods"])
    torch.manual_seed(scale.seed)
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config["threads"])
    try:
        cuda = any(uses_cuda(execution_paths()[path][2]) for path in paths) and cuda_available()
        record = provenance(config, seed=scale.seed, device="cuda" if cuda else "cpu")
        around = (scale.n_qubits, scale.steps, scale.validation_steps, scale.seed, scale.repeats)
        around += (config["aer_runs"], previous_threads)
        log(f"torch validation before and after capped Aer runs ({previous_threads} torch threads)")
        with_cap = torch_around_aer(True, *around)  # the first Aer runs of the benchmark
        records, validations = [], []
        for path in paths:
            log(f"path {path}")
            rows, validation = bench_path(path, methods, scale, log)
            records.extend(rows)
            validations.append(validation)
        log("torch validation pass with and without device noise")
        noise = noise_cost(scale)
        sweep_result = None if sweep is None else scaling_sweep(seed=scale.seed, methods=methods, log=log, **sweep)
        log("torch validation before and after uncapped Aer runs")
        without_cap = torch_around_aer(False, *around)  # last: uncapped Aer's threads stay in the process
    finally:
        torch.set_num_threads(previous_threads)
    attach_derived(records, validations)
    result = Benchmark(
        config=config,
        provenance=record,
        updates=records,
        validation=validations,
        targets=evaluate_targets(records, validations, noise),
        noise=noise,
        aer_check=aer_check(with_cap, without_cap, previous_threads),
        epoch_definition=f"{TRAIN_WINDOWS} weight updates (median) + one validation pass",
        wall_seconds=time.perf_counter() - started,
        load_average_end=load_average(),
    )
    if sweep_result is not None:
        result["sweep"] = sweep_result
    return result


def scaling_sweep(
    qubits: tuple[int, ...] = (4, 6, 8),
    lengths: tuple[int, ...] = (10, 20, 40),
    steps: int = SEQ_LEN,
    length_qubits: int = N_QUBITS,
    repeats: int = 1,
    warmup: int = 1,
    seed: int = 1920,
    methods: tuple[str, ...] | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Torch (exact, CPU) update time per method against qubits (at ``steps``) and sequence length.

    The length axis runs at ``length_qubits`` qubits.
    """
    check_int("repeats", repeats, 1)
    check_int("warmup", warmup, 0)
    methods = method_names() if methods is None else tuple(methods)
    points = [("qubits", n, n, steps) for n in qubits] + [("length", t, length_qubits, t) for t in lengths]
    rows, timed = [], {}
    for axis, value, n, t in points:
        for method in methods:
            if (n, t, method) not in timed:  # a point on both axes is timed once
                times, evaluations = time_updates(make_model("torch", method, n, seed), t, seed, repeats, warmup)
                timed[n, t, method] = {"parameters": 2 * (7 * n - 1), "evaluations": evaluations, **summarize(times)}
            row = {"axis": axis, "value": value, "n_qubits": n, "steps": t, "method": method, **timed[n, t, method]}
            rows.append(row)
            log(f"  sweep {axis}={value:3d} {method:11s} {row['median_s']:.4f} s ({row['evaluations']} evaluations)")
    config = {
        "qubits": list(qubits),
        "lengths": list(lengths),
        "steps": steps,
        "length_qubits": length_qubits,
        "repeats": repeats,
        "warmup": warmup,
        "seed": seed,
        "path": "torch",
    }
    return {"config": config, "rows": rows}
