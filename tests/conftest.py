"""Shared fixtures: the smoke book, built once per test session in a copy of the working tree."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def make(tree: Path, *targets: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run ``make -j2 <targets> PROFILE=smoke`` in ``tree`` (its own package first on the path)."""
    env = os.environ | {"PYTHONPATH": str(tree)}
    return subprocess.run(
        ["make", "-j2", *targets, "PROFILE=smoke"], cwd=tree, env=env, capture_output=True, text=True, timeout=timeout
    )


def copy_tree(tree: Path) -> Path:
    """Copy the working tree (tracked and untracked, not ignored files) into ``tree``, sharing the installed .venv.

    The copy's pyproject.toml and lock are dated before the venv's install stamp, so make never reinstalls from it.
    """
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, tree / name)
    (tree / ".venv").symlink_to(ROOT / ".venv")
    stamp = (ROOT / ".venv" / ".installed").stat().st_mtime
    for name in ("pyproject.toml", "requirements.lock"):
        if (tree / name).is_file():
            os.utime(tree / name, (stamp - 1, stamp - 1))
    return tree


@pytest.fixture(scope="session")
def smoke_tree(tmp_path_factory) -> Path:
    """A copy of the working tree (tracked and untracked, not ignored files) with the smoke book built in it.

    The build runs in the copy (sharing the installed .venv), so it never touches the
    checkout's own build/ or book/ folders; test_book, test_browser and test_notebooks share it.
    """
    tree = copy_tree(tmp_path_factory.mktemp("study"))
    done = make(tree, "book")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return tree
