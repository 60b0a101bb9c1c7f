"""The study's task plan, built from ``configs/<profile>/``, and every task's state (docs/CONTRIBUTING.md).

One plan says everything both executors (:mod:`qrnn_study.makefile`, :mod:`qrnn_study.dask_executor`)
need: every papermill execution (one per training run, sweeps expanded, and one per chapter), the
files whose change re-runs it, the tasks it runs after, and whether it runs alone. A task is up to
date only when its manifest verifies, its inputs' hashes are the recorded ones, the tasks it runs
after are up to date, and no input is newer than its executed notebook (Make's own rule).
"""

from __future__ import annotations

import ast
import difflib
import fnmatch
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

from qrnn_core.files import write_text

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
    """The library's and the study's sources and, where it exists, the venv's install stamp."""
    code = sorted(
        str(path.relative_to(root))
        for package in ("qrnn_core", "qrnn_study")
        for path in (root / package).rglob("*.py")
    )
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
    build = study.build_dir(profile, root).relative_to(root).as_posix()
    code = _code_inputs(root)
    runs = _run_tasks(profile, root, build, code)
    return runs + _chapter_tasks(profile, root, build, code, tuple(task.name for task in runs))


def _run_tasks(profile: str, root: Path, build: str, code: list[str]) -> list[Task]:
    """One task per training run of the profile (sweeps expanded), each checked against ``train.ipynb``."""
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
    return runs


def _chapter_tasks(profile: str, root: Path, build: str, code: list[str], run_names: tuple[str, ...]) -> list[Task]:
    """One task per chapter, after every run and the chapters it depends on; exclusive chapters last."""
    chapters = study.chapter_names(profile, root)
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
    return list(tasks.values())


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
