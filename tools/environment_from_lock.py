"""Write environment.yml from requirements.lock: the same pins (without hashes) for conda users.

Run by ``make lock`` (``python3 tools/environment_from_lock.py requirements.lock environment.yml``);
``tests/test_project.py`` checks that the committed environment.yml is what this writes.
Standard library only: it runs before the project's environment exists.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
PYTHON = re.compile(r"with Python (\d+\.\d+)")
HEADER = """\
# Conda description of the pinned environment, written by `make lock` from {lock} (do not edit by hand).
# conda env create -f environment.yml && conda activate qrnn-study && pip install --no-deps -e .
"""


def locked_pins(lock_text: str) -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of a pip-compile lock file."""
    return {m[1].lower(): m[2] for line in lock_text.splitlines() if (m := PIN.match(line))}


def torch_pin(pyproject_text: str) -> str:
    """The ``torch==X`` requirement of pyproject.toml (torch is installed apart from the lock)."""
    deps = tomllib.loads(pyproject_text)["project"]["dependencies"]
    pins = [d.replace(" ", "") for d in deps if re.match(r"torch\s*==", d)]
    if len(pins) != 1:
        raise ValueError(f"pyproject.toml must pin torch exactly once as 'torch==X', found {pins or 'none'}")
    return pins[0]


def environment_yml(lock_text: str, pyproject_text: str, lock_name: str = "requirements.lock") -> str:
    """environment.yml's text: the lock's Python version, torch's pin and every locked pin."""
    python = PYTHON.search(lock_text)
    if python is None:
        raise ValueError(f"{lock_name} names no Python version in its header ('with Python X.Y')")
    pins = [f"{name}=={version}" for name, version in sorted(locked_pins(lock_text).items())]
    lines = [
        HEADER.format(lock=lock_name).rstrip("\n"),
        "name: qrnn-study",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={python[1]}",
        "  - pip",
        "  - pip:",
        *(f"      - {pin}" for pin in [torch_pin(pyproject_text), *pins]),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """``environment_from_lock.py LOCK OUT``: write OUT from LOCK and pyproject.toml."""
    if len(argv) != 2:
        print("usage: python3 tools/environment_from_lock.py requirements.lock environment.yml", file=sys.stderr)
        return 2
    lock, out = Path(argv[0]), Path(argv[1])
    text = environment_yml(lock.read_text(), (ROOT / "pyproject.toml").read_text(), lock.name)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text)
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
