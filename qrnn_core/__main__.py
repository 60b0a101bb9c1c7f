"""Command line: ``python -m qrnn_core train --help``."""

from __future__ import annotations

import sys

from .training import main

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] != "train":
        print("usage: python -m qrnn_core train [options]  (--help for the options)")
        sys.exit(0 if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help") else 2)
    sys.exit(main(sys.argv[2:]))
