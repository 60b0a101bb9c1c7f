"""``make plan``: each training run's time projected from this machine's benchmark, and the profile's wall time."""

from __future__ import annotations

from pathlib import Path

from qrnn_core import protocol
from qrnn_core.checks import check_int

from . import study
from .bench import DEFAULT_OUT as MAKE_BENCH  # where `make bench` writes, looked at before the runtime chapters' files
from .plan import Task, build_plan
from .timing import Benchmark, load_benchmark

# Profiles whose runtime chapter's benchmark may stand in for this machine's (the quick one last).
FALLBACK_PROFILE = "quick"


def bench_candidates(profile: str, root: str | Path | None = None) -> list[Path]:
    """Where this machine's benchmark may be: ``make bench``'s, this profile's runtime chapter's, the quick one's."""
    from .chapters import runtime  # the runtime chapter names its benchmark file (imported when a plan is projected)

    root = study.repo_root(root)
    chapters = dict.fromkeys((profile, FALLBACK_PROFILE))
    return [root / MAKE_BENCH, *(runtime.bench_path(p, root) for p in chapters)]


def find_benchmark(profile: str, root: str | Path | None = None) -> Path | None:
    """This machine's benchmark JSON: ``make bench``'s, else a runtime chapter's, else ``None``."""
    return next((path for path in bench_candidates(profile, root) if path.is_file()), None)


def _bench_path(params: dict) -> str:
    """The benchmark's execution path that a run's backend, device and shots correspond to."""
    from .timing import path_for  # the paths come from the backend registry; imported when a plan is projected

    return path_for(params.get("backend", "torch"), params.get("shots"), str(params.get("device", "cpu")))


def project_runs(plan: list[Task], bench: Benchmark) -> list[dict]:
    """Projected seconds per training run: updates x the benchmark's median update time + validation passes.

    Updates per run = epochs x training sequences / batch size; validation passes = epochs + 1
    (the untrained model and each epoch), scaled linearly from the benchmark's validation length.
    A run whose path or method the benchmark did not time has ``seconds = None`` and a ``note``.
    """
    updates = {(r["path"], r["method"]): r for r in bench["updates"]}
    validations = {v["path"]: v for v in bench["validation"]}
    rows = []
    for task in plan:
        if not task.is_run:
            continue
        p = task.params
        path = _bench_path(p)
        record, validation = updates.get((path, p.get("method", "spsa"))), validations.get(path)
        row = {
            "run": task.name.removeprefix("train/"),
            "method": p.get("method", "spsa"),
            "path": path,
            "seconds": None,
        }
        if record is None or "median_s" not in record or validation is None or "median_s" not in validation:
            reason = (record or {}).get("reason") or (record or {}).get("status") or "not in the benchmark"
            rows.append(row | {"note": f"no projection: {path}/{row['method']} {reason}"})
            continue
        n_updates = p.get("epochs", 10) * -(-(p.get("n_train") or protocol.TRAIN_WINDOWS) // p.get("batch_size", 1))
        val_steps = p.get("val_length") or protocol.VALIDATION_STEPS
        validations_s = (p.get("epochs", 10) + 1) * validation["median_s"] * val_steps / validation["steps"]
        seconds = n_updates * record["median_s"] + validations_s
        shots = bench["config"]["shots"]
        note = record["status"] + ("" if p.get("shots") in (None, shots) else f", timed at {shots} shots")
        rows.append(row | {"updates": n_updates, "seconds": seconds, "note": note})
    return rows


def makespan(seconds: list[float], workers: int) -> float:
    """Wall time of independent jobs on ``workers`` workers, longest first to the least loaded worker."""
    loads = [0.0] * check_int("workers", workers, 1)
    for s in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads, default=0.0)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.1f} s"


def plan_report(
    profile: str, workers: int, root: str | Path | None = None, bench_path: str | Path | None = None
) -> str:
    """``make plan``: every run with its projected time, and the projected wall time on ``workers`` workers."""
    root = study.repo_root(root)
    plan = build_plan(profile, root)
    path = Path(bench_path) if bench_path else find_benchmark(profile, root)
    runs = [task for task in plan if task.is_run]
    if path is None or not path.is_file():
        names = "\n".join(f"  {task.name.removeprefix('train/')}" for task in runs)
        return (
            f"profile {profile}: {len(runs)} runs\n{names}\nNo benchmark of this machine to project from "
            f"(looked for {', '.join(str(c.relative_to(root)) for c in bench_candidates(profile, root))}).\n"
            "Run `make bench` (the full benchmark, minutes) or `make bench BENCH_ARGS=--quick` first."
        )
    bench = load_benchmark(path)
    rows = project_runs(plan, bench)
    width = max(len(row["run"]) for row in rows)
    device = bench["provenance"].get("device") or {}
    load = device.get("load_average")
    source = path.relative_to(root) if path.is_relative_to(root) else path
    lines = [
        f"profile {profile}: {len(rows)} training runs, projected from {source} "
        f"({device.get('cpu', 'unknown CPU')}, {bench['config'].get('threads', 1)} thread(s) per process, "
        f"{bench['config'].get('repeats', '?')} timed update(s) per method"
        + (f", load average {load[0]:.1f} when it started)" if load else ")"),
        f"{'run':{width}s}  {'method':11s} {'path':11s} {'updates':>8s}  projected",
    ]
    for row in rows:
        time_text = _duration(row["seconds"]) if row["seconds"] is not None else "-"
        updates = row.get("updates", "")
        lines.append(
            f"{row['run']:{width}s}  {row['method']:11s} {row['path']:11s} {updates:>8}  "
            f"{time_text:>9s}  ({row['note']})"
        )
    seconds = [row["seconds"] for row in rows if row["seconds"] is not None]
    total, longest = sum(seconds), max(seconds, default=0.0)
    lines.append(f"sum of projected run times: {_duration(total)}; longest run: {_duration(longest)} (the floor)")
    for n in sorted({1, 2, workers}):
        wall = _duration(makespan(seconds, n))
        lines.append(f"projected wall time on {n} worker(s): {wall} (longest run first to the least-loaded worker)")
    lines.append(
        "Projected: update and validation medians of the benchmark times the run's updates; chapters and "
        "notebook start-up (seconds per task) not included; runs without a projection are left out."
    )
    return "\n".join(lines)
