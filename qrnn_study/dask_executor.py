"""The Dask executor: the plan's stale tasks on a Dask cluster, in dependency order."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from qrnn_core.checks import check_int

from . import study
from .makefile import execute_task
from .plan import Task, invalidate, stale_tasks


def _on_worker(task: Task, root: str, scheduler: str) -> str:
    """Run a task on a Dask worker, recording the worker's host (as the scheduler knows it)."""
    from distributed import get_worker

    host = get_worker().address.rsplit("://", 1)[-1].rsplit(":", 1)[0]
    return execute_task(task, root, executor="dask", scheduler=scheduler, worker_host=host, capture=True)


@dataclass
class _Run:
    """A Dask run's bookkeeping: tasks waiting, running (by future key), done, failed and blocked by a failure."""

    pending: dict[str, Task]
    todo: set[str]
    done: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)
    running: dict[str, Task] = field(default_factory=dict)

    def submit_ready(self, submit: Callable[[Task], object]) -> None:
        """Submit every waiting task whose dependencies are done (an exclusive one only when nothing else runs)."""
        for name, task in list(self.pending.items()):
            bad = [dep for dep in task.deps if dep in self.failed or dep in self.blocked]
            if bad:
                self.blocked[name] = bad[0]
                del self.pending[name]
            elif all(dep in self.done or dep not in self.todo for dep in task.deps) and not any(
                t.exclusive for t in self.running.values()
            ):
                if task.exclusive and self.running:
                    continue
                self.running[submit(task).key] = task
                del self.pending[name]

    def report(self) -> int:
        """Print what ran, failed and was not run; the exit status (0: everything ran)."""
        print(
            f"{len(self.done)} task(s) done, {len(self.failed)} failed, "
            f"{len(self.blocked)} not run because a task they need failed"
        )
        for name, error in self.failed.items():
            print(f"  failed: {name}: {error.splitlines()[0]}")
        for name, dep in self.blocked.items():
            print(f"  not run: {name} (needs {dep})")
        return 1 if self.failed or self.blocked else 0


def _start(scheduler: str | None, workers: int | None) -> tuple[object, object | None]:
    """A client of ``scheduler``, else of a new LocalCluster of ``workers`` single-threaded processes (and it)."""
    from distributed import Client, LocalCluster

    if workers is not None:
        workers = check_int("workers", workers, 1)
    cluster = (
        None
        if scheduler
        else LocalCluster(
            n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    )
    client = Client(scheduler or cluster)
    print(f"Dask scheduler {client.scheduler.address}, {len(client.scheduler_info()['workers'])} worker(s)", flush=True)
    if "dashboard" in client.scheduler_info().get("services", {}):
        print(f"Dask dashboard: {client.dashboard_link}", flush=True)
    return client, cluster


def _follow(run: _Run, completed: object, client: object, submit: Callable[[Task], object]) -> None:
    """Collect each finished task, submit what it unblocks, and show progress until nothing is left."""
    from tqdm.auto import tqdm

    with tqdm(total=len(run.todo), unit="task", dynamic_ncols=True) as bar:
        bar.set_postfix(running=0, queued=len(run.running), failed=0)
        for future in completed:
            task = run.running.pop(future.key)
            if future.status == "finished":
                run.done.add(task.name)
            else:
                run.failed[task.name] = f"{type(future.exception()).__name__}: {future.exception()}"
                bar.write(f"FAILED {task.notebook} [{task.name}]: {run.failed[task.name]}")
            future.release()
            run.submit_ready(submit)
            processing = sum(len(keys) for keys in client.processing().values())  # on workers now
            queued = len(run.running) - processing
            bar.set_postfix(running=processing, queued=queued, failed=len(run.failed), refresh=False)
            bar.update(1)


def run_dask(
    plan: list[Task], root: str | Path | None = None, *, scheduler: str | None = None, workers: int | None = None
) -> int:
    """Run the plan's tasks that are not up to date on Dask in dependency order; return the exit status (0: success).

    The damaged ones and those whose inputs changed are reported first (:func:`invalidate`).

    ``scheduler`` (``tcp://host:port``) connects to a running scheduler whose workers share this
    repository's filesystem; without it a LocalCluster starts ``workers`` single-threaded worker
    processes (default: one per core). A failed task is reported with its notebook and error, the
    tasks that do not depend on it go on, and the ones that do are reported as not run. A task whose
    worker is lost is rescheduled by Dask (up to ``distributed.scheduler.allowed-failures`` times),
    then reported. An exclusive task is submitted only when nothing else runs.
    """
    from distributed import as_completed

    root = study.repo_root(root)
    invalidate(plan, root)
    stale = stale_tasks(plan, root)
    pending = {task.name: task for task in plan if task.name in stale}
    print(f"{len(plan) - len(pending)} of {len(plan)} tasks up to date, {len(pending)} to run", flush=True)
    if not pending:
        return 0
    client, cluster = _start(scheduler, workers)
    address = client.scheduler.address
    run, completed = _Run(pending, set(pending)), as_completed()

    def submit(task: Task) -> object:
        future = client.submit(_on_worker, task, str(root), address, key=f"{task.name}-{time.time_ns()}", pure=False)
        completed.add(future)
        return future

    try:
        run.submit_ready(submit)
        _follow(run, completed, client, submit)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return run.report()
