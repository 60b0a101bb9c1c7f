"""Staging the book: copy a profile's executed, sealed notebooks and their tables into ``book/generated``."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from qrnn_core.files import copy_file, write_text
from qrnn_core.training import RESULT, UPDATES

from . import manifest
from .study import StudyRun, build_dir, chapter_names, load_profile, repo_root, run_configs

# Folder of book/generated/ whose contents the built book serves at its root (html_extra_path in book/_config.yml).
BOOK_EXTRA = "_extra"
# Where the built book serves each run's downloadable files: <root>/runs/<run>/{result.json, updates.csv}.
BOOK_RUNS = "runs"
RUN_DOWNLOADS = (RESULT, UPDATES)
# The runs appendix's list of runs, written by stage_book and included by book/appendix_runs.md.
RUNS_INDEX = "runs_index.md"


def run_file_href(name: str, file: str) -> str:
    """A run file's address relative to its run page (``generated/train/<run>.html``) in the built book.

    Example:
        >>> run_file_href("spsa-cpu", "result.json")
        '../../runs/spsa-cpu/result.json'
    """
    if file not in RUN_DOWNLOADS:
        raise ValueError(f"run file {file!r} is not staged; allowed: {', '.join(RUN_DOWNLOADS)}")
    return f"../../{BOOK_RUNS}/{name}/{file}"


def runs_index(runs: list[StudyRun]) -> str:
    """The runs appendix's body: one row per configured run, linking its page, with method, scale and status."""
    lines = ["| run | sweep | scale | status |", "|---|---|---|---|"]
    for run in runs:
        status = run.status if run.complete else run.status_text or run.status
        lines.append(
            f"| {{doc}}`{run.label} </generated/train/{run.name}>` | {run.params.get('sweep') or 'main run'} | "
            f"{run.scale()} | {status} |"
        )
    return "\n".join(lines) + "\n"


def stage_book(profile: str, root: str | Path | None = None) -> Path:
    """Replace ``book/generated`` with the profile's executed notebooks; return that folder.

    Chapters go to ``generated/<chapter>.ipynb`` with their parameter cells hidden,
    training runs to ``generated/train/<run>.ipynb`` with the run's label added to the
    page title (their parameters stay visible). The tables' CSV files of each chapter
    (``build/<profile>/data/<chapter>/*.csv``) go to ``generated/_extra/data/<chapter>/``,
    which the book serves as ``data/<chapter>/`` (``html_extra_path``); each run's ``result.json`` and
    ``updates.csv`` go to ``generated/_extra/runs/<run>/`` (:func:`run_file_href`), and the list of runs
    the appendix includes to ``generated/runs_index.md`` (:func:`runs_index`). Only
    notebooks of configurations that exist now are copied, so nothing stale is staged,
    and nothing is staged unless every chapter's and run's files match their manifests
    (``make runs`` re-runs a task whose inputs changed, before the book is staged).

    Raises:
        qrnn_study.manifest.Damaged: naming every file (or manifest) that is missing, changed or not listed.
    """
    root = repo_root(root)
    build = build_dir(profile, root)
    dest = root / "book" / "generated"
    chapters, runs = chapter_names(profile, root), run_configs(profile, root)
    sealed = [(f"data/{chapter}", f"chapters/{chapter}.ipynb") for chapter in chapters]
    sealed += [(f"runs/{name}", f"train/{name}.ipynb") for name in runs]
    problems = [
        problem
        for folder, notebook in sealed
        for problem in manifest.damage(f"build/{profile}/{folder}", f"build/{profile}/{notebook}", root)
    ]
    if problems:
        raise manifest.Damaged(
            f"not staging the book of profile {profile}: "
            + "; ".join(problems)
            + f" (`make runs PROFILE={profile}` runs the damaged tasks again)"
        )
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "train").mkdir(parents=True)
    (dest / BOOK_EXTRA / "data").mkdir(parents=True)
    for chapter in chapters:
        for table in sorted((build / "data" / chapter).glob("*.csv")):
            copy_file(table, dest / BOOK_EXTRA / "data" / chapter / table.name)
        notebook = nbformat.read(build / "chapters" / f"{chapter}.ipynb", as_version=4)
        for cell in notebook.cells:
            tags = cell.metadata.get("tags", [])
            if "parameters" in tags or "injected-parameters" in tags:
                cell.metadata["tags"] = [*tags, "remove-cell"]
        nbformat.write(notebook, dest / f"{chapter}.ipynb")
    for name, params in runs.items():
        for file in RUN_DOWNLOADS:
            if (build / "runs" / name / file).is_file():
                copy_file(build / "runs" / name / file, dest / BOOK_EXTRA / BOOK_RUNS / name / file)
        notebook = nbformat.read(build / "train" / f"{name}.ipynb", as_version=4)
        title = notebook.cells[0]
        title.source = title.source.replace("# Training run", f"# Training run: {params.get('run_label', name)}", 1)
        nbformat.write(notebook, dest / "train" / f"{name}.ipynb")
    write_text(dest / RUNS_INDEX, runs_index(load_profile(profile, root)))
    return dest
