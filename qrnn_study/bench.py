"""``python -m qrnn_study bench``: time one weight update per gradient method and execution path.

The timing is :mod:`qrnn_study.timing`, the tables :mod:`qrnn_study.bench_report`, the
plots :mod:`qrnn_study.figures`; this module runs them and writes the JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from qrnn_core.files import write_json

from .bench_report import format_report
from .timing import Benchmark, load_benchmark, run_benchmark

DEFAULT_OUT = "bench_results/bench.json"
# Smoke scale: one repeat, every slow-path update projected from one evaluation, one Aer run each way, a tiny sweep.
QUICK = {
    "repeats": 1,
    "warmup": 0,
    "sample": 1,
    "budget_s": 1e-9,
    "aer_runs": 1,
    "sweep": {"qubits": (2, 4), "lengths": (6, 8), "steps": 6, "length_qubits": 4, "warmup": 0},
}


def load_or_run(path: str | Path, quick: bool = False, log: Callable[[str], None] = print) -> tuple[Benchmark, str]:
    """The benchmark in ``path``, or, if there is none, one run now (smoke scale if ``quick``) and written there.

    Returns the result and where it came from, in words.
    """
    path = Path(path)
    shown = Path(path.parent.name, path.name)
    if path.exists():
        return load_benchmark(path), f"read from `{shown}`"
    result = run_benchmark(log=log, **(dict(QUICK) if quick else {"sweep": {}}))
    write_json(path, result)
    return result, f"run now ({'smoke' if quick else 'full'} scale) and written to `{shown}`"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m qrnn_study bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"JSON output path (default {DEFAULT_OUT})")
    parser.add_argument("--repeats", type=int, default=3, help="timed updates per method and path (default 3)")
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed updates (torch paths) or evaluations (others) first (default 1)"
    )
    parser.add_argument("--seed", type=int, default=1920, help="seed of the models and data (default 1920)")
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds of full updates per method on a slow path (default 60)"
    )
    parser.add_argument("--sample", type=int, default=3, help="timed evaluations for projections (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads during the run (default 1)")
    parser.add_argument(
        "--aer-runs",
        type=int,
        default=3,
        help="timed Aer runs with and without the thread cap, between torch validation passes (default 3)",
    )
    parser.add_argument("--methods", nargs="+", default=None, help="gradient methods (default: every registered one)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the qubits / sequence-length scaling sweep")
    parser.add_argument("--quick", action="store_true", help="smoke scale: 1 repeat, projected slow paths, tiny sweep")
    args = parser.parse_args(argv)
    if args.quick:
        options = dict(QUICK)
    else:
        options = {
            "repeats": args.repeats,
            "warmup": args.warmup,
            "sample": args.sample,
            "budget_s": args.budget,
            "aer_runs": args.aer_runs,
            "sweep": {},
        }
    if args.no_sweep:
        options["sweep"] = None
    try:
        result = run_benchmark(seed=args.seed, threads=args.threads, methods=args.methods, **options)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result["config"]["command"] = ["python", "-m", "qrnn_study", "bench", *(sys.argv[2:] if argv is None else argv)]
    print(format_report(result))
    print(f"\nwrote {write_json(args.out, result)} ({result['wall_seconds']:.0f} s)")
    return 0
