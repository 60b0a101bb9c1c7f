"""Staging the book: copy a profile's executed, sealed notebooks and their tables into ``book/generated``."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from qrnn_core.files import copy_file

from . import manifest
from .study import build_dir, chapter_names, repo_root, run_configs

# Folder of book/generated/ whose contents the built book serves at its root (html_extra_path in book/_config.yml).
BOOK_EXTRA = "_extra"


def stage_book(profile: str, root: str | Path | None = None) -> Path:
    """Replace ``book/generated`` with the profile's executed notebooks; return that folder.

    Chapters go to ``generated/<chapter>.ipynb`` with their parameter cells hidden,
    training runs to ``generated/train/<run>.ipynb`` with the run's label added to the
    page title (their parameters stay visible). The tables' CSV files of each chapter
    (``build/<profile>/data/<chapter>/*.csv``) go to ``generated/_extra/data/<chapter>/``,
    which the book serves as ``data/<chapter>/`` (``html_extra_path``). Only
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
        notebook = nbformat.read(build / "train" / f"{name}.ipynb", as_version=4)
        title = notebook.cells[0]
        title.source = title.source.replace("# Training run", f"# Training run: {params.get('run_label', name)}", 1)
        nbformat.write(notebook, dest / "train" / f"{name}.ipynb")
    return dest
