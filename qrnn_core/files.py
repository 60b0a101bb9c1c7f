"""Atomic file writes: every file the project writes goes through here.

A file is written to a hidden temporary sibling and moved into place with ``os.replace``,
so a reader never sees a half-written file and an interrupted write leaves the old one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch

# The names atomic_write gives its temporary files (left behind only by a killed process).
TEMPORARY_NAME = re.compile(r"\..+\.tmp\d+")


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through ``write(tmp)`` and an ``os.replace``; create parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Write a text file atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | Path, payload: object) -> Path:
    """Write JSON (indented) atomically."""
    return write_text(path, json.dumps(payload, indent=2))


def write_csv(path: str | Path, table: pd.DataFrame, index: bool = False) -> Path:
    """Write a data frame as CSV atomically."""
    return atomic_write(path, lambda tmp: table.to_csv(tmp, index=index))


def save_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write an ``.npz`` archive atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as allow_pickle

    return atomic_write(path, write)


def save_torch(path: str | Path, payload: dict) -> Path:
    """Write a ``torch.save`` payload atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            torch.save(payload, handle)

    return atomic_write(path, write)


def copy_file(source: str | Path, path: str | Path) -> Path:
    """Copy ``source`` to ``path`` atomically."""
    return atomic_write(path, lambda tmp: shutil.copyfile(source, tmp))


def check_writable(folder: str | Path) -> Path:
    """Check, without leaving a trace, that files can be written in ``folder`` or in the folders that create it.

    The folder itself, or where it does not exist yet its nearest existing parent, must be a
    folder this process can create files in (tried with an anonymous temporary file).

    Args:
        folder: the folder that will be written.

    Returns:
        The existing folder that was tried.

    Raises:
        NotADirectoryError: the folder or one of its parents is a file.
        PermissionError: no file can be created there (permissions, a read-only file system).
    """
    folder = Path(folder).absolute()
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise NotADirectoryError(f"cannot create folder {str(folder)!r}: {str(existing)!r} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise PermissionError(
            f"cannot write folder {str(folder)!r}: no file can be created in {str(existing)!r} ({error.strerror})"
        ) from error
    return existing


def replace_folder(source: str | Path, path: str | Path) -> Path:
    """Move folder ``source`` to ``path``; a folder already at ``path`` is moved aside first, deleted only after.

    Both are renames within one parent, so ``path`` holds the old folder or the new one,
    never a mix (a hidden ``.<name>.old-<pid>`` sibling holds the old one in between).
    """
    path = Path(path)
    aside = path.with_name(f".{path.name}.old-{os.getpid()}")
    shutil.rmtree(aside, ignore_errors=True)  # left by a killed process of the same id
    if path.exists():
        os.replace(path, aside)
    os.replace(source, path)
    shutil.rmtree(aside, ignore_errors=True)
    return path
