"""Command line: ``python -m qrnn_core {train,bench} --help``."""

from __future__ import annotations

import importlib
import sys

COMMANDS = {"train": "qrnn_core.training", "bench": "qrnn_core.bench"}


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a sub-command's ``main(argv)``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print("usage: python -m qrnn_core {" + ",".join(COMMANDS) + "} [options]  (each takes --help)")
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
