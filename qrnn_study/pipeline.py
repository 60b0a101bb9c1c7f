"""The study's task plan and its two executors, Make and Dask (docs/CONTRIBUTING.md, "The study pipeline").

One plan, built here from ``configs/<profile>/``, says everything both executors need:
every papermill execution (one per training run, sweeps expanded, and one per chapter),
the files whose change re-runs it, the tasks it runs after, and whether it runs alone.

- ``python -m qrnn_study.pipeline makefile PROFILE`` writes the parameter files and
  ``build/<profile>/plan.mk`` (one rule per task), which ``make runs`` (``EXECUTOR=make``) runs with ``make -j``;
  with ``--invalidate`` it first deletes the executed notebook of every task whose outputs do not
  verify against its manifest (or whose inputs changed), so Make re-runs it.
- ``python -m qrnn_study.pipeline dask PROFILE`` (``EXECUTOR=dask``) submits the tasks that are
  not up to date to a Dask cluster in dependency order, by the same rule.
- ``python -m qrnn_study.pipeline check PROFILE`` reports every task's state (:func:`task_states`), running nothing.
- ``python -m qrnn_study.pipeline plan PROFILE --workers N`` projects the wall time.

Both executors run a task the same way (plan.mk's rule, :func:`execute_task` on a Dask worker): its
outputs are deleted, the notebook executes (:func:`papermill_command`) into a hidden temp file that
is moved into place only on success, and then its manifest is written (qrnn_study.manifest). A task is
up to date only when its manifest verifies, its inputs' hashes are the recorded ones, the tasks it runs
after are up to date, and no input is newer than its executed notebook (Make's own rule).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from qrnn_core.files import write_text

from . import study
from .dask_executor import run_dask
from .makefile import makefile_text
from .plan import build_plan, check_report, invalidate, select, task_states, write_params
from .projection import plan_report


def main(argv: list[str] | None = None) -> int:
    """``python -m qrnn_study.pipeline {makefile,dask,check,plan} PROFILE ...``."""
    parser = argparse.ArgumentParser(prog="python -m qrnn_study.pipeline", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    makefile = commands.add_parser("makefile", help="write the parameter files and build/PROFILE/plan.mk")
    makefile.add_argument(
        "--invalidate",
        action="store_true",
        help="delete the executed notebook of every damaged task or task whose inputs changed (Make re-runs it)",
    )
    check = commands.add_parser("check", help="report every task's state, running nothing (exit 1 if any is behind)")
    dask = commands.add_parser("dask", help="run the stale tasks on Dask")
    scheduler_help = "tcp://host:port (default: $DASK_SCHEDULER, else a LocalCluster)"
    dask.add_argument("--scheduler", default=os.environ.get("DASK_SCHEDULER") or None, help=scheduler_help)
    dask.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default: one per core)")
    dask.add_argument("--tasks", nargs="*", help="only these tasks and what they need (shell patterns, e.g. 'train/*')")
    plan = commands.add_parser("plan", help="projected time of every run and of the profile on N workers")
    plan.add_argument("--workers", type=int, default=16)
    plan.add_argument("--bench", help="benchmark JSON (default: bench_results/bench.json or a runtime chapter's)")
    for command in (makefile, dask, check, plan):
        command.add_argument("profile", choices=study.PROFILES)
    args = parser.parse_args(argv)
    root = study.repo_root(Path.cwd())
    try:
        if args.command == "plan":
            print(plan_report(args.profile, args.workers, root, args.bench))
            return 0
        tasks = build_plan(args.profile, root)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "check":
        states = task_states(tasks, root)
        print(check_report(tasks, states, args.profile))
        return 0 if all(state.up_to_date for state in states.values()) else 1
    write_params(tasks, root)
    if args.command == "makefile":
        target = study.build_dir(args.profile, root) / "plan.mk"
        text = makefile_text(tasks, args.profile)
        if not target.is_file() or target.read_text() != text:
            write_text(target, text)
        if args.invalidate:
            invalidate(tasks, root)
        print(target.relative_to(root))
        return 0
    return run_dask(select(tasks, args.tasks), root, scheduler=args.scheduler, workers=args.workers)


if __name__ == "__main__":
    sys.exit(main())
