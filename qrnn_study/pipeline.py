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
import ast
import difflib
import fnmatch
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from qrnn_core import protocol
from qrnn_core.checks import check_choice, check_int
from qrnn_core.files import write_text
from qrnn_core.provenance import EXECUTION_ENV

from . import manifest, study
from .archive import ARCHIVE, train_config

# Keys of a chapter's configs/<profile>/<chapter>.yaml read by the pipeline, not passed to the notebook:
# depends_on: [chapter, ...]   chapters it reads (it runs after them)
# inputs: [path, ...]          extra files whose change re-runs it (relative to the repository)
# exclusive: true              runs alone, after every other task, with every core (the benchmark)
CHAPTER_KEYS = ("depends_on", "inputs", "exclusive")
TRAIN_NOTEBOOK = "notebooks/train.ipynb"
REPORTED = "book/paper_reported.json"
STAMP = ".venv/.installed"
EXECUTORS = ("make", "dask")


@dataclass(frozen=True)
class Task:
    """One papermill execution of the plan; every path is relative to the repository root."""

    name: str  # "train/<run>" or "chapters/<chapter>" (the output's path below build/<profile>/)
    notebook: str
    params_file: str  # written by write_params from `params`
    params: dict
    output: str  # the executed notebook, moved into place only on success
    clean: tuple[str, ...]  # folders deleted before the task runs (run folder, chapter data)
    inputs: tuple[str, ...]  # files whose change re-runs the task
    deps: tuple[str, ...]  # names of the tasks it runs after (their outputs are inputs too)
    exclusive: bool = False
    takes_root: bool = False  # the notebook declares a ``root`` parameter (the pipeline passes the repository)

    @property
    def is_run(self) -> bool:
        return self.name.startswith("train/")

    @property
    def folder(self) -> str:
        """The folder the task writes (its run folder or chapter data folder); it holds the task's manifest."""
        return self.clean[0]

    @property
    def prerequisites(self) -> tuple[str, ...]:
        """Every file the task reads: its inputs, then the executed notebooks of the tasks it runs after."""
        build = Path(self.output).parents[1]  # a task's name is its output's path below build/<profile>/
        return (*self.inputs, *(f"{build}/{dep}.ipynb" for dep in self.deps))


def _code_inputs(root: Path) -> list[str]:
    """The package sources and, where it exists, the venv's install stamp."""
    code = sorted(str(path.relative_to(root)) for path in (root / "qrnn_core").glob("*.py"))
    return code + ([STAMP] if (root / STAMP).is_file() else [])


def notebook_parameters(notebook: str | Path) -> dict[str, object]:
    """The names the cell tagged ``parameters`` of a notebook assigns, with their literal defaults (else ``None``)."""
    cells = nbformat.read(notebook, as_version=4).cells
    source = next((c.source for c in cells if "parameters" in c.metadata.get("tags", [])), None)
    if source is None:
        raise ValueError(f"{notebook} has no cell tagged 'parameters'")
    defaults: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                defaults[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                defaults[node.targets[0].id] = None
    return defaults


def check_parameters(params: dict, allowed: dict[str, object], where: str) -> None:
    """Refuse a key the notebook does not take (naming the closest one) or a value of the wrong type.

    A value's type is checked against the notebook's default where that default is not ``None``
    (an int is accepted for a float, ``None`` for anything: the notebook or library checks it).

    Raises:
        ValueError: naming ``where``, the key, and the value and the expected type or the closest key.
    """
    for key, value in params.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{where}: unknown key {key!r}{hint} (allowed: {', '.join(sorted(allowed))})")
        default = allowed[key]
        if default is None or value is None:
            continue
        expected = (int, float) if isinstance(default, float) else type(default)
        if not isinstance(value, expected) or (isinstance(value, bool) and not isinstance(default, bool)):
            raise ValueError(
                f"{where}: key {key!r} has value {value!r} of type {type(value).__name__}; "
                f"expected {type(default).__name__} (like the notebook's default {default!r})"
            )


def _run_source(profile: str, name: str, params: dict) -> str:
    sweep = params.get("sweep")
    return f"configs/{profile}/sweeps/{sweep}.yaml (run {name})" if sweep else f"configs/{profile}/train/{name}.yaml"


def _check_run(profile: str, name: str, params: dict, allowed: dict[str, object]) -> None:
    """A run's parameters: known to ``train.ipynb``, of the right types, and a valid ``TrainConfig``."""
    where = _run_source(profile, name, params)
    check_parameters(params, allowed, where)
    try:
        train_config(params)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: {error}") from None


def _chapter_settings(path: Path, chapters: list[str]) -> tuple[dict, list[str], list[str], bool]:
    """Split a chapter's YAML into notebook parameters and the pipeline's keys (checked)."""
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ValueError(f"chapter file {path}: must be a mapping of parameters, got {values!r}")
    depends_on = values.pop("depends_on", None) or []
    inputs = values.pop("inputs", None) or []
    exclusive = values.pop("exclusive", False)
    if not isinstance(depends_on, list) or any(dep not in chapters or dep == path.stem for dep in depends_on):
        raise ValueError(
            f"chapter file {path}: depends_on must be a list of other chapters ({', '.join(chapters)}), "
            f"got {depends_on!r}"
        )
    if not isinstance(inputs, list) or not all(isinstance(item, str) for item in inputs):
        raise ValueError(f"chapter file {path}: inputs must be a list of file paths, got {inputs!r}")
    if not isinstance(exclusive, bool):
        raise ValueError(f"chapter file {path}: exclusive must be true or false, got {exclusive!r}")
    return values, depends_on, inputs, exclusive


def build_plan(profile: str, root: str | Path | None = None) -> list[Task]:
    """Every task of a profile in an order that respects the dependencies (runs, chapters, exclusive last)."""
    root = study.repo_root(root)
    build = f"build/{study.check_profile(profile)}"
    code = _code_inputs(root)
    runs = []
    train_params = notebook_parameters(root / TRAIN_NOTEBOOK)
    for run, params in study.run_configs(profile, root).items():
        _check_run(profile, run, params, train_params)
        params = params | {"out_dir": f"{build}/runs/{run}"}
        data = params.get("data_path")
        extra = [data] if isinstance(data, str) and (root / data).is_file() else []
        archived = f"{ARCHIVE}/{profile}/{run}"
        if (root / archived / "result.json").is_file():  # verified and staged by the notebook instead of trained
            params |= {"archive": archived}
            extra.append(f"{archived}/result.json")
        runs.append(
            Task(
                f"train/{run}",
                TRAIN_NOTEBOOK,
                f"{build}/params/train/{run}.yaml",
                params,
                f"{build}/train/{run}.ipynb",
                (f"{build}/runs/{run}",),
                (f"{build}/params/train/{run}.yaml", TRAIN_NOTEBOOK, *extra, *code),
                (),
            )
        )
    chapters = study.chapter_names(profile, root)
    run_names = tuple(task.name for task in runs)
    settings = {ch: _chapter_settings(root / "configs" / profile / f"{ch}.yaml", chapters) for ch in chapters}
    declared = {ch: notebook_parameters(root / "notebooks" / f"{ch}.ipynb") for ch in chapters}
    for chapter, (params, *_) in settings.items():
        allowed = declared[chapter] | dict.fromkeys(CHAPTER_KEYS)
        check_parameters(
            params,
            {k: v for k, v in allowed.items() if k not in ("profile", "root")},
            f"configs/{profile}/{chapter}.yaml",
        )
    exclusive = [ch for ch in chapters if settings[ch][3]]
    shared = [ch for ch in chapters if not settings[ch][3]]
    bad = [(ch, dep) for ch in shared for dep in settings[ch][1] if dep in exclusive]
    if bad:
        chapter, dep = bad[0]
        raise ValueError(f"chapter {chapter!r} depends on {dep!r}, which is exclusive (runs last); drop the dependency")
    tasks: dict[str, Task] = {}

    def add(chapter: str, seen: tuple[str, ...] = ()) -> None:
        if f"chapters/{chapter}" in tasks:
            return
        if chapter in seen:
            raise ValueError(f"chapters depend on each other in a cycle: {' -> '.join((*seen, chapter))}")
        params, depends_on, inputs, alone = settings[chapter]
        for dep in depends_on:
            add(dep, (*seen, chapter))
        if alone:  # after every other task and the exclusive chapters placed before it (its depends_on among them)
            earlier = [name for name, task in tasks.items() if task.exclusive]
            deps = (*run_names, *(f"chapters/{c}" for c in shared), *earlier)
        else:
            deps = (*run_names, *(f"chapters/{c}" for c in depends_on))
        params_file = f"{build}/params/chapters/{chapter}.yaml"
        tasks[f"chapters/{chapter}"] = Task(
            f"chapters/{chapter}",
            f"notebooks/{chapter}.ipynb",
            params_file,
            params | ({"profile": profile} if "profile" in declared[chapter] else {}),
            f"{build}/chapters/{chapter}.ipynb",
            (f"{build}/data/{chapter}",),
            (params_file, f"notebooks/{chapter}.ipynb", REPORTED, *inputs, *code),
            deps,
            alone,
            "root" in declared[chapter],
        )

    for chapter in shared + exclusive:
        add(chapter)
    return runs + list(tasks.values())


def _params_text(task: Task) -> str:
    source = "configs/ (sweeps expanded)" if task.is_run else f"configs/<profile>/{Path(task.notebook).stem}.yaml"
    header = f"# papermill parameters of {task.notebook}, generated by qrnn_study.pipeline from {source}; do not edit\n"
    return header + yaml.safe_dump(task.params, sort_keys=False)


def write_params(plan: list[Task], root: str | Path | None = None) -> None:
    """Write every task's parameter file, touching only those whose content changed (Make decides by mtime)."""
    root = study.repo_root(root)
    for task in plan:
        path = root / task.params_file
        text = _params_text(task)
        if not path.is_file() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(path, text)


UP_TO_DATE = "up to date"
# The states task_states finds from the manifests, which Make's mtimes do not see:
# `makefile --invalidate` deletes those tasks' executed notebooks, so Make re-runs them.
INVALID = ("damaged", "inputs changed")
AFTER = "runs after a task that re-runs"


@dataclass(frozen=True)
class TaskState:
    """Whether a task is up to date and, if not, why: ``kind`` and the files (or task) concerned."""

    kind: str  # see task_states
    details: tuple[str, ...] = ()

    @property
    def up_to_date(self) -> bool:
        return self.kind == UP_TO_DATE

    def __str__(self) -> str:
        return self.kind + (": " + ", ".join(self.details) if self.details else "")


def _hashes(plan: list[Task], root: Path) -> dict[str, str | None]:
    """SHA-256 of every prerequisite of the plan, the parameter files as the plan writes them (nothing is written)."""
    hashes = manifest.input_hashes([path for task in plan for path in task.prerequisites], root)
    for task in plan:
        hashes[task.params_file] = hashlib.sha256(_params_text(task).encode()).hexdigest()
    return hashes


def task_states(plan: list[Task], root: str | Path | None = None) -> dict[str, TaskState]:
    """The state of every task of the plan (which lists dependencies first), reading files only.

    A task is, in the order looked at: ``not built`` (no executed notebook, no manifest),
    ``damaged`` (a file differs from its manifest, is missing or is not in it, or the manifest is),
    ``inputs changed`` (an input's SHA-256 differs from the recorded one), ``runs after a task that
    re-runs`` (one it runs after is not up to date), ``older than an input`` (Make's rule: an input or
    a dependency's notebook is newer than its executed notebook), else ``up to date``.
    """
    root = study.repo_root(root)
    hashes = _hashes(plan, root)
    states: dict[str, TaskState] = {}
    for task in plan:
        output = root / task.output
        if not output.is_file() and not (root / task.folder / manifest.MANIFEST).is_file():
            states[task.name] = TaskState("not built")
            continue
        problems = manifest.damage(task.folder, task.output, root)
        if problems:
            states[task.name] = TaskState("damaged", tuple(problems))
            continue
        changed = manifest.changed_inputs(task.folder, {path: hashes[path] for path in task.prerequisites}, root)
        if changed:
            states[task.name] = TaskState("inputs changed", tuple(changed))
            continue
        behind = [dep for dep in task.deps if not states[dep].up_to_date]
        if behind:
            states[task.name] = TaskState(AFTER, (behind[0],))
            continue
        newer = [
            path
            for path in task.prerequisites
            if (root / path).is_file() and (root / path).stat().st_mtime > output.stat().st_mtime
        ]
        states[task.name] = TaskState("older than an input", (newer[0],)) if newer else TaskState(UP_TO_DATE)
    return states


def stale_tasks(plan: list[Task], root: str | Path | None = None) -> set[str]:
    """Names of the tasks that are not up to date (:func:`task_states`): what both executors run.

    Raises:
        FileNotFoundError: an input of a task does not exist.
    """
    root = study.repo_root(root)
    for task in plan:
        missing = [path for path in task.inputs if not (root / path).exists()]
        if missing:
            raise FileNotFoundError(f"{task.name}: input {missing[0]} does not exist")
    return {name for name, state in task_states(plan, root).items() if not state.up_to_date}


def _why(name: str, state: TaskState, most: int = 3) -> list[str]:
    """What a task that re-runs prints: each damaged file, else the first inputs that changed."""
    if state.kind == "damaged":
        return list(state.details)
    more = f" and {len(state.details) - most} more" if len(state.details) > most else ""
    return [f"{name}: {state.kind} ({', '.join(state.details[:most])}{more})"]


def invalidate(plan: list[Task], root: str | Path | None = None) -> list[str]:
    """Delete the executed notebook of every damaged task or task whose inputs changed, so Make re-runs it.

    Prints ``"<file>: <problem>, re-running"`` for each (to standard error). Make's own rule
    (missing or older notebooks) re-runs the rest, and what runs after them. Returns the tasks' names.
    """
    root = study.repo_root(root)
    states = task_states(plan, root)
    invalid = [task for task in plan if states[task.name].kind in INVALID]
    for task in invalid:
        for line in _why(task.name, states[task.name]):
            print(f"{line}, re-running", file=sys.stderr)
        (root / task.output).unlink(missing_ok=True)
    return [task.name for task in invalid]


def check_report(plan: list[Task], states: dict[str, TaskState], profile: str) -> str:
    """``make check``: every task's state, one line each, and how many are up to date."""
    width = max(len(task.name) for task in plan)
    lines = [f"{task.name:{width}s}  {states[task.name]}" for task in plan]
    behind = sum(not state.up_to_date for state in states.values())
    lines.append(
        f"{len(plan) - behind} of {len(plan)} tasks of profile {profile} up to date"
        + (f"; `make runs PROFILE={profile}` re-runs the other {behind}" if behind else "")
    )
    return "\n".join(lines)


def temp_output(task: Task) -> str:
    """The hidden file a task's notebook executes into before it is moved into place."""
    output = Path(task.output)
    return str(output.parent / f".{output.stem}.tmp.ipynb")


def task_env(
    task: Task, executor: str, scheduler: str | None = None, worker_host: str | None = None, cores: str | None = None
) -> dict[str, str]:
    """Environment of a task's papermill process: its threads and what provenance records of its execution.

    Training runs get one thread (several processes run side by side); an exclusive task every
    core (``cores``, default this machine's count).
    """
    check_choice("executor", executor, EXECUTORS)
    threads = (cores or str(os.cpu_count() or 1)) if task.exclusive else "1"
    execution = {"executor": executor, "scheduler": scheduler or "", "worker_host": worker_host or ""}
    return {"OMP_NUM_THREADS": threads} | {EXECUTION_ENV[key]: value for key, value in execution.items()}


def papermill_command(task: Task, python: str, root: str) -> list[str]:
    """The papermill command line of a task (both executors run exactly this)."""
    command = [
        python,
        "-m",
        "papermill",
        "--kernel",
        "python3",
        "--cwd",
        root,
        "--no-progress-bar",
        f"{root}/{task.notebook}",
        f"{root}/{temp_output(task)}",
        "-f",
        f"{root}/{task.params_file}",
    ]
    return [*command, "-r", "root", root] if task.takes_root else command


def makefile_text(plan: list[Task], profile: str) -> str:
    """The plan as a Makefile: one rule per task, with the prerequisites :func:`task_states` reads.

    A rule deletes the task's outputs, executes the notebook into a temp file, moves it into place
    and writes the manifest over its prerequisites (``$^``).
    """
    lines = [
        f"# Generated by `python -m qrnn_study.pipeline makefile {profile}` from configs/{profile}/; do not edit.",
        "PY ?= .venv/bin/python",
        ".PHONY: all",
        "all: " + " ".join(task.output for task in plan),
        "",
    ]
    for task in plan:
        env = " ".join(
            f"{key}={value if key == 'OMP_NUM_THREADS' else shlex.quote(value)}"
            for key, value in task_env(task, "make", cores="$$(nproc)").items()
        )
        lines += [
            f"{task.output}: " + " ".join(task.prerequisites),
            f"\trm -rf {' '.join([task.output, *task.clean])} && mkdir -p {Path(task.output).parent}",
            f"\t{env} {shlex.join(papermill_command(task, '$(PY)', '$(CURDIR)'))}",
            f"\tmv {temp_output(task)} {task.output}",
            f"\t$(PY) -m qrnn_study.manifest seal {task.folder} {task.output} $^",
            "",
        ]
    return "\n".join(lines)


class TaskFailed(RuntimeError):
    """A task's notebook failed; the message names the notebook, the partial output and the error."""


def execute_task(
    task: Task,
    root: str | Path | None = None,
    *,
    executor: str = "make",
    scheduler: str | None = None,
    worker_host: str | None = None,
    capture: bool = False,
) -> str:
    """Run one task as its plan.mk rule does: delete its outputs, execute into a temp notebook, move it into place.

    Last, the task's manifest is written (:func:`qrnn_study.manifest.seal`).

    ``executor``, ``scheduler`` and ``worker_host`` reach the run's provenance through
    environment variables. With ``capture`` the notebook's error is part of the raised
    :class:`TaskFailed` (a Dask worker's output is not the user's terminal). Returns the output path.
    """
    root = study.repo_root(root)
    env = os.environ | task_env(task, executor, scheduler, worker_host)
    output = root / task.output
    output.unlink(missing_ok=True)
    for folder in task.clean:
        shutil.rmtree(root / folder, ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        papermill_command(task, sys.executable, str(root)), env=env, capture_output=capture, text=True
    )
    if done.returncode != 0:
        error = f"\n{done.stderr[-4000:]}" if capture else " (papermill's error is printed above)"
        raise TaskFailed(f"{task.notebook} failed ({task.name}; partial notebook: {root / temp_output(task)}){error}")
    os.replace(root / temp_output(task), output)
    manifest.seal(task.folder, task.output, task.prerequisites, root)
    return task.output


# ---------------------------------------------------------------- the Dask executor


def select(plan: list[Task], patterns: list[str] | None) -> list[Task]:
    """The tasks whose names match any of ``patterns`` (shell-style, e.g. ``train/*``), with their dependencies."""
    if not patterns:
        return plan
    by_name = {task.name: task for task in plan}
    wanted = {task.name for task in plan if any(fnmatch.fnmatchcase(task.name, p) for p in patterns)}
    if not wanted:
        raise ValueError(f"no task matches {patterns}; tasks are named train/<run> and chapters/<chapter>")
    stack = list(wanted)
    while stack:
        for dep in by_name[stack.pop()].deps:
            if dep not in wanted:
                wanted.add(dep)
                stack.append(dep)
    return [task for task in plan if task.name in wanted]


def _on_worker(task: Task, root: str, scheduler: str) -> str:
    """Run a task on a Dask worker, recording the worker's host (as the scheduler knows it)."""
    from distributed import get_worker

    host = get_worker().address.rsplit("://", 1)[-1].rsplit(":", 1)[0]
    return execute_task(task, root, executor="dask", scheduler=scheduler, worker_host=host, capture=True)


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
    from distributed import Client, LocalCluster, as_completed
    from tqdm.auto import tqdm

    root = study.repo_root(root)
    invalidate(plan, root)
    stale = stale_tasks(plan, root)
    pending = {task.name: task for task in plan if task.name in stale}
    print(f"{len(plan) - len(pending)} of {len(plan)} tasks up to date, {len(pending)} to run", flush=True)
    if not pending:
        return 0
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
    address = client.scheduler.address
    print(f"Dask scheduler {address}, {len(client.scheduler_info()['workers'])} worker(s)", flush=True)
    if "dashboard" in client.scheduler_info().get("services", {}):
        print(f"Dask dashboard: {client.dashboard_link}", flush=True)
    todo = set(pending)
    done: set[str] = set()
    failed: dict[str, str] = {}
    blocked: dict[str, str] = {}
    running: dict[str, Task] = {}
    completed = as_completed()

    def submit_ready() -> None:
        for name, task in list(pending.items()):
            bad = [dep for dep in task.deps if dep in failed or dep in blocked]
            if bad:
                blocked[name] = bad[0]
                del pending[name]
            elif all(dep in done or dep not in todo for dep in task.deps) and not any(
                t.exclusive for t in running.values()
            ):
                if task.exclusive and running:
                    continue
                future = client.submit(_on_worker, task, str(root), address, key=f"{name}-{time.time_ns()}", pure=False)
                running[future.key] = task
                completed.add(future)
                del pending[name]

    try:
        submit_ready()
        with tqdm(total=len(todo), unit="task", dynamic_ncols=True) as bar:
            bar.set_postfix(running=0, queued=len(running), failed=0)
            for future in completed:
                task = running.pop(future.key)
                if future.status == "finished":
                    done.add(task.name)
                else:
                    failed[task.name] = f"{type(future.exception()).__name__}: {future.exception()}"
                    bar.write(f"FAILED {task.notebook} [{task.name}]: {failed[task.name]}")
                future.release()
                submit_ready()
                processing = sum(len(keys) for keys in client.processing().values())  # on workers now
                bar.set_postfix(running=processing, queued=len(running) - processing, failed=len(failed), refresh=False)
                bar.update(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    print(f"{len(done)} task(s) done, {len(failed)} failed, {len(blocked)} not run because a task they need failed")
    for name, error in failed.items():
        print(f"  failed: {name}: {error.splitlines()[0]}")
    for name, dep in blocked.items():
        print(f"  not run: {name} (needs {dep})")
    return 1 if failed or blocked else 0


# ---------------------------------------------------------------- planning a profile

BENCH_CANDIDATES = (
    "bench_results/bench.json",
    "build/{profile}/data/runtime/bench.json",
    "build/quick/data/runtime/bench.json",
)


def find_benchmark(profile: str, root: str | Path | None = None) -> Path | None:
    """This machine's benchmark JSON: ``make bench``'s, else a runtime chapter's, else ``None``."""
    root = study.repo_root(root)
    for candidate in BENCH_CANDIDATES:
        path = root / candidate.format(profile=profile)
        if path.is_file():
            return path
    return None


def _bench_path(params: dict) -> str:
    """The benchmark's execution path that a run's backend, device and shots correspond to."""
    from .timing import path_for  # the paths come from the backend registry; imported when a plan is projected

    return path_for(params.get("backend", "torch"), params.get("shots"), str(params.get("device", "cpu")))


def project_runs(plan: list[Task], bench: dict) -> list[dict]:
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
            f"(looked for {', '.join(c.format(profile=profile) for c in BENCH_CANDIDATES)}).\n"
            "Run `make bench` (the full benchmark, minutes) or `make bench BENCH_ARGS=--quick` first."
        )
    bench = json.loads(path.read_text())
    rows = project_runs(plan, bench)
    width = max(len(row["run"]) for row in rows)
    device = bench.get("provenance", {}).get("device") or bench.get("machine") or {}
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


# ---------------------------------------------------------------- command line


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
        target = root / "build" / args.profile / "plan.mk"
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
