"""Provenance of a run or a benchmark: config, seed, package versions, lock file, git commit, device.

Every result the project writes carries :func:`provenance`; training runs and the
benchmark call it the same way. No hostname is recorded (a Dask worker's address is, see
:func:`execution_info`).
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path

import torch

from .backends import cuda_available, torch_device, uses_cuda

REPO_ROOT = Path(__file__).resolve().parents[1]
# The lock file `make setup` installs from (`make lock` writes it).
LOCK_FILE = "requirements.lock"
# Packages whose versions decide the numbers, recorded by name (the lock hash pins the rest).
PACKAGES = ("torch", "qiskit", "qiskit-aer", "numpy")


def git_commit(root: str | Path | None = None) -> str | None:
    """The checked-out commit of the repository (``None`` outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root or REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def lock_hash(root: str | Path | None = None) -> str | None:
    """SHA-256 of the lock file the environment was installed from (``None`` if there is none)."""
    path = Path(root or REPO_ROOT) / LOCK_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def package_versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Python's version and each installed package's (``None`` where it is missing)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    """The CPU's model name (from ``/proc/cpuinfo`` where there is one)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (``None`` where the system has none)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def device_info(device: str = "cpu") -> dict:
    """CPU, cores, torch threads, platform, load average and the CUDA device ``device`` names (if present)."""
    cuda = uses_cuda(device) and cuda_available()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda_device": torch.cuda.get_device_name(torch_device(device)) if cuda else None,
        "platform": platform.platform(),
        "load_average": load_average(),
    }


def provenance(config: dict, *, seed: int | None = None, device: str = "cpu", root: str | Path | None = None) -> dict:
    """What a result needs to be reproduced: its config and seed, versions, lock hash, commit, device and time.

    ``seed`` defaults to ``config["seed"]``; ``device`` is the device the work ran on.
    """
    return {
        "config": config,
        "seed": config.get("seed") if seed is None else seed,
        "versions": package_versions(),
        "lock_hash": lock_hash(root),
        "git_commit": git_commit(root),
        "device": device_info(device),
        **execution_info(),
        "created": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


# Set by qrnn_study.pipeline's executors for the notebooks they run (empty or unset: run by hand).
EXECUTION_ENV = {"executor": "QRNN_EXECUTOR", "scheduler": "QRNN_SCHEDULER", "worker_host": "QRNN_WORKER_HOST"}


def execution_info() -> dict[str, str | None]:
    """Which executor ran the work ('make' | 'dask' | None), the Dask scheduler's address and the worker's host.

    The worker's host is its address as the Dask scheduler knows it (no hostname is looked up).
    """
    return {key: os.environ.get(variable) or None for key, variable in EXECUTION_ENV.items()}
