"""Manifests of the study's outputs: what a finished task wrote, so nothing damaged or stale is ever shown.

Every task of the pipeline (qrnn_study.pipeline) writes one folder (a run folder
``build/<profile>/runs/<run>/`` or a chapter's data folder ``build/<profile>/data/<chapter>/``)
and one executed notebook. When the task succeeds, :func:`seal` writes ``manifest.json`` into the
folder, last and atomically: the SHA-256 and size of every file of the folder and of the notebook,
and the SHA-256 of every input the task read (its parameter file, notebook, data, the package's
sources, the executed notebooks of the tasks it runs after), with a fingerprint over them.
:func:`damage` and :func:`changed_inputs` compare the files with it.

``python -m qrnn_study.manifest seal FOLDER NOTEBOOK INPUT...`` is what each rule of plan.mk runs after
its notebook is moved into place (this module imports nothing heavy of its own, so it adds little to a task).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from qrnn_core.data import file_sha256
from qrnn_core.files import write_json

MANIFEST = "manifest.json"


class Damaged(RuntimeError):
    """A task's files do not match its manifest (the message names every file concerned)."""


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root))


def input_hashes(inputs: list[str] | tuple[str, ...], root: str | Path) -> dict[str, str | None]:
    """SHA-256 of every input (paths relative to ``root``); ``None`` for one that does not exist."""
    root = Path(root)
    return {path: file_sha256(root / path) if (root / path).is_file() else None for path in sorted(set(inputs))}


def fingerprint(hashes: dict[str, str | None]) -> str:
    """One SHA-256 over the inputs' paths and hashes (the order they are given in does not matter)."""
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()


def _folder_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file() and path != folder / MANIFEST)


def seal(folder: str | Path, output: str | Path, inputs: list[str] | tuple[str, ...], root: str | Path = ".") -> Path:
    """Write ``folder/manifest.json`` (atomically): every file of ``folder`` and ``output``, and the inputs' hashes.

    Args:
        folder: the task's folder, relative to ``root`` (created if the task wrote nothing into it).
        output: the task's executed notebook, relative to ``root``.
        inputs: every file the task read, relative to ``root``.
        root: the repository.

    Returns:
        The manifest's path.
    """
    root = Path(root)
    folder = root / folder
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        _relative(path, root): {"sha256": file_sha256(path), "size": path.stat().st_size}
        for path in [*_folder_files(folder), root / output]
    }
    hashes = input_hashes(inputs, root)
    return write_json(folder / MANIFEST, {"fingerprint": fingerprint(hashes), "inputs": hashes, "files": files})


def read(folder: str | Path, root: str | Path = ".") -> dict:
    """The manifest of ``folder`` (relative to ``root``).

    Raises:
        FileNotFoundError: there is none (the task never finished).
        Damaged: it is not a readable manifest.
    """
    path = Path(root) / folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{Path(folder) / MANIFEST}: missing")
    try:
        manifest = json.loads(path.read_text())
        if not isinstance(manifest, dict) or not {"fingerprint", "inputs", "files"} <= set(manifest):
            raise ValueError("not a manifest")
    except (ValueError, UnicodeDecodeError) as error:
        raise Damaged(f"{Path(folder) / MANIFEST}: damaged or truncated ({error})") from None
    return manifest


def damage(folder: str | Path, output: str | Path, root: str | Path = ".") -> list[str]:
    """What does not match the manifest of ``folder``, one ``"<path>: <problem>"`` per file; ``[]`` if all match.

    A file is ``missing``, has a ``checksum mismatch`` (size or SHA-256), or is ``not in the manifest``
    (an extra file in the folder, or a manifest written for another notebook); a missing or unreadable
    manifest is reported as such.
    """
    root = Path(root)
    try:
        listed = read(folder, root)["files"]
    except (FileNotFoundError, Damaged) as error:
        return [str(error)]
    problems = []
    for name, entry in listed.items():
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["size"] or file_sha256(path) != entry["sha256"]:
            problems.append(f"{name}: checksum mismatch")
    present = [_relative(path, root) for path in _folder_files(root / folder)]
    extra = [name for name in present if name not in listed] + ([] if str(output) in listed else [str(output)])
    return problems + [f"{name}: not in the manifest" for name in extra]


def changed_inputs(folder: str | Path, hashes: dict[str, str | None], root: str | Path = ".") -> list[str]:
    """The inputs whose hashes differ from those the manifest of ``folder`` recorded (added and removed ones too)."""
    recorded = read(folder, root)
    if recorded["fingerprint"] == fingerprint(hashes):
        return []
    before = recorded["inputs"]
    return sorted(path for path in set(before) | set(hashes) if before.get(path) != hashes.get(path))


def verify(folder: str | Path, output: str | Path, root: str | Path = ".") -> None:
    """Raise :class:`Damaged` naming every file of ``folder`` and ``output`` that does not match the manifest."""
    problems = damage(folder, output, root)
    if problems:
        raise Damaged("; ".join(problems))


def main(argv: list[str] | None = None) -> int:
    """``python -m qrnn_study.manifest seal FOLDER NOTEBOOK INPUT...`` (paths relative to the working directory)."""
    parser = argparse.ArgumentParser(prog="python -m qrnn_study.manifest", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sealing = commands.add_parser("seal", help="write FOLDER/manifest.json for a finished task")
    sealing.add_argument("folder", help="the task's run or chapter data folder")
    sealing.add_argument("notebook", help="the task's executed notebook")
    sealing.add_argument("inputs", nargs="*", help="every file the task read")
    args = parser.parse_args(argv)
    seal(args.folder, args.notebook, args.inputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
