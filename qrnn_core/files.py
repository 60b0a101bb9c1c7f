"""Atomic file writes: every file the project writes goes through here.

A file is written to a hidden temporary sibling and moved into place with ``os.replace``,
so a reader never sees a half-written file and an interrupted write leaves the old one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
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
            np.savez(handle, **arrays)

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
