"""The results archive: a profile's runs made once, kept in ``results/<profile>/<run>/``, verified on every build.

A finished archived run holds ``result.json``, ``updates.csv.gz``, ``predictions.npz``
and its small epoch checkpoints (``checkpoints/epoch_NN.pt``: model, optimizer, estimator
and random-generator states at the end of every epoch). A run still in flight also holds
``checkpoint_last.pt``, from which :func:`produce` resumes it.

:func:`verify_run` checks an archived run under the current code: it restores the
checkpoint at the start of a randomly chosen epoch, replays that epoch's first updates
and compares each loss with the stored one, then recomputes that epoch's validation RMSE
from the state stored at its end. Results are cached per code version and per content of
the run's files (``build/<profile>/verify/<run>.json``).

``python -m qrnn_study.archive produce PROFILE [RUN ...]`` makes (or resumes) runs;
``python -m qrnn_study.archive verify PROFILE`` verifies every archived run (``make verify``).
"""

from __future__ import annotations

import argparse
import fcntl
import gzip
import hashlib
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from qrnn_core.backends import cuda_available
from qrnn_core.files import atomic_write, write_json
from qrnn_core.provenance import cpu_model
from qrnn_core.training import (
    CHECKPOINT_BEST,
    CHECKPOINT_LAST,
    PREDICTIONS,
    RESULT,
    UPDATES,
    TrainConfig,
    replay_updates,
    replay_validation,
    train,
)

from . import study

ARCHIVE = "results"
UPDATES_GZ = UPDATES + ".gz"
# Losses and RMSEs must agree bit for bit where the run was made on this kind of machine
# (same CPU model, same torch); elsewhere floating-point libraries may differ by rounding.
FOREIGN_TOLERANCE = 1e-5
DEFAULT_UPDATES = 20


def archive_dir(profile: str, root: str | Path | None = None) -> Path:
    """``results/<profile>/`` of the repository."""
    return study.repo_root(root) / ARCHIVE / study.check_profile(profile)


def train_config(params: dict) -> TrainConfig:
    """The :class:`TrainConfig` of a run's papermill parameters (labels and pipeline keys left out)."""
    names = {f.name for f in fields(TrainConfig)}
    return TrainConfig.from_dict({key: value for key, value in params.items() if key in names})


def code_version(root: str | Path | None = None) -> str:
    """SHA-256 over the package's sources: a new code version re-verifies every archived run."""
    digest = hashlib.sha256()
    for path in sorted((study.repo_root(root) / "qrnn_core").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    digest.update(torch.__version__.encode())
    return digest.hexdigest()


def files_digest(run_dir: Path) -> str:
    """SHA-256 over the names and contents of an archived run's files."""
    digest = hashlib.sha256()
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(run_dir)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def is_complete(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a finished archived run (a complete ``result.json`` and its files)."""
    path = run_dir / RESULT
    if not path.is_file():
        return False
    result = json.loads(path.read_text())
    return result.get("status") == "complete" and (run_dir / UPDATES_GZ).is_file() and (run_dir / PREDICTIONS).is_file()


def _seal(run_dir: Path) -> None:
    """Turn a finished run folder into its archived form: compress the update log, drop the large checkpoints."""
    updates = run_dir / UPDATES
    atomic_write(run_dir / UPDATES_GZ, lambda tmp: tmp.write_bytes(gzip.compress(updates.read_bytes(), mtime=0)))
    for name in (UPDATES, CHECKPOINT_LAST, CHECKPOINT_BEST):
        (run_dir / name).unlink(missing_ok=True)


def produce(profile: str, names: list[str] | None = None, root: str | Path | None = None) -> list[str]:
    """Make the archived runs ``names`` (default: every run of the profile) that are not there yet.

    A run with a ``checkpoint_last.pt`` resumes from it; a finished one whose configuration
    equals the profile's is left alone. CUDA runs are made only where CUDA is available.
    Returns the names of the runs made or finished.
    """
    configs = study.run_configs(profile, root)
    unknown = sorted(set(names or ()) - set(configs))
    if unknown:
        raise ValueError(f"runs {unknown} are not in profile {profile!r}; its runs: {', '.join(configs)}")
    made = []
    for name in names or list(configs):
        config = train_config(configs[name])
        run_dir = archive_dir(profile, root) / name
        if is_complete(run_dir):
            stored = json.loads((run_dir / RESULT).read_text())["config"]
            if _comparable(stored) != _comparable(config.to_dict()):
                raise ValueError(f"{run_dir} holds a run of another configuration; move it away to re-run it")
            continue
        if config.uses_cuda and not cuda_available():
            print(f"{name}: needs CUDA, not available here; not run", flush=True)
            continue
        with _run_lock(run_dir) as locked:
            if not locked:
                print(f"{name}: another producer is making it (lock {run_dir.parent / f'.{name}.lock'}); skipped")
                continue
            if is_complete(run_dir):  # finished by another producer meanwhile
                continue
            last = run_dir / CHECKPOINT_LAST
            resume = last if last.is_file() else None
            print(f"{name}: {'resuming' if resume else 'starting'}", flush=True)
            train(config, run_dir, resume=resume, progress=False, overwrite=True, log=partial(_log, name))
            _seal(run_dir)
        made.append(name)
        print(f"{name}: archived", flush=True)
    return made


def _log(name: str, text: str) -> None:
    print(f"{name}: {text}", flush=True)


@contextmanager
def _run_lock(run_dir: Path) -> Iterator[bool]:
    """Hold an exclusive lock on ``results/<profile>/.<run>.lock`` (yields ``False`` if another process holds it)."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(run_dir.parent / f".{run_dir.name}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _comparable(config: dict) -> dict:
    """A configuration without the fields that do not change the numbers (the data cache's folder)."""
    return {key: value for key, value in config.items() if key != "cache_dir"}


@dataclass
class Verification:
    """One archived run checked under the current code."""

    run: str
    epoch: int
    updates_replayed: int
    max_loss_deviation: float
    validation_deviation: float
    tolerance: float
    passed: bool
    code_version: str
    files_digest: str

    @property
    def max_deviation(self) -> float:
        """The largest deviation of a loss or a validation RMSE."""
        return max(self.max_loss_deviation, self.validation_deviation)


def _tolerance(result: dict) -> float:
    """0 where the run was made on this kind of machine with this torch; :data:`FOREIGN_TOLERANCE` elsewhere."""
    made = result["provenance"]
    same = made["device"]["cpu"] == cpu_model() and made["versions"]["torch"] == torch.__version__
    return 0.0 if same else FOREIGN_TOLERANCE


def verify_run(
    run_dir: str | Path, n_updates: int = DEFAULT_UPDATES, root: str | Path | None = None, use_cache: bool = True
) -> Verification:
    """Replay ``n_updates`` updates of a random epoch of an archived run and recompute that epoch's validation.

    The epoch is drawn from a generator seeded by the run's name and the code version, so
    a build checks the same epoch until the code changes. With ``use_cache``, a result for
    the same code version and file contents is read from ``build/<profile>/verify/``.
    """
    run_dir = Path(run_dir)
    profile = run_dir.parent.name
    version, digest = code_version(root), files_digest(run_dir)
    cache = study.build_dir(profile, root) / "verify" / f"{run_dir.name}.json"
    if use_cache and cache.is_file():
        cached = Verification(**json.loads(cache.read_text()))
        if (cached.code_version, cached.files_digest, cached.updates_replayed) == (version, digest, n_updates):
            return cached
    if not is_complete(run_dir):
        raise FileNotFoundError(f"{run_dir}: not a finished archived run ({RESULT}, {UPDATES_GZ}, {PREDICTIONS})")
    result = json.loads((run_dir / RESULT).read_text())
    updates = pd.read_csv(run_dir / UPDATES_GZ)
    seed = int.from_bytes(hashlib.sha256(f"{run_dir.name}:{version}".encode()).digest()[:8], "little")
    epoch = int(np.random.default_rng(seed).integers(1, len(result["epochs"]) + 1))
    stored = updates.loc[updates["epoch"] == epoch, "loss"].to_numpy()[:n_updates]
    replayed = np.array(replay_updates(run_dir, epoch, len(stored)))
    loss_dev = float(np.max(np.abs(replayed - stored))) if len(stored) else 0.0
    scores = replay_validation(run_dir, epoch)
    record = result["epochs"][epoch - 1]
    val_dev = max(abs(scores[k] - record[f"val_{k}"]) for k in ("rmse_y", "rmse_z", "rmse_mean"))
    tolerance = _tolerance(result)
    passed = loss_dev <= tolerance and val_dev <= tolerance
    check = Verification(run_dir.name, epoch, len(stored), loss_dev, val_dev, tolerance, passed, version, digest)
    write_json(cache, asdict(check))
    return check


def verify_profile(
    profile: str, n_updates: int = DEFAULT_UPDATES, root: str | Path | None = None
) -> list[Verification]:
    """Verify every finished archived run of ``profile`` (in-flight runs are left out)."""
    runs = sorted(p for p in archive_dir(profile, root).glob("*") if p.is_dir() and is_complete(p))
    return [verify_run(run, n_updates, root) for run in runs]


def stage(profile: str, name: str, out_dir: str | Path, root: str | Path | None = None) -> Path:
    """Copy a verified archived run into ``out_dir`` as an ordinary run folder (``updates.csv`` decompressed)."""
    run_dir = archive_dir(profile, root) / name
    check = verify_run(run_dir, root=root)
    if not check.passed:
        raise ValueError(
            f"archived run {name} failed verification (epoch {check.epoch}: largest deviation "
            f"{check.max_deviation:.3g} > {check.tolerance:g}); re-run it"
        )
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(run_dir, out_dir, ignore=shutil.ignore_patterns(UPDATES_GZ, RESULT))
    atomic_write(out_dir / UPDATES, lambda tmp: tmp.write_bytes(gzip.decompress((run_dir / UPDATES_GZ).read_bytes())))
    result = json.loads((run_dir / RESULT).read_text())
    result["archive"] = {"source": f"{ARCHIVE}/{profile}/{name}", **asdict(check)}
    write_json(out_dir / RESULT, result)
    return out_dir


def restore_or_train(
    config: TrainConfig, out_dir: str | Path, archived: str | Path | None = None, skip_unavailable: bool = False
) -> dict:
    """Stage the archived run ``archived`` into ``out_dir`` if it verifies, else train; return ``result.json``.

    An archived run is used only when it is finished, its configuration equals ``config``
    (the data cache's folder aside) and :func:`verify_run` passes under the current code.
    Otherwise the reason is printed with the run's name and the run is trained afresh, so
    nothing unverified is ever shown.
    """
    from qrnn_core.training import run_or_skip

    if archived is not None:
        source = study.repo_root() / archived
        reason = None
        if not is_complete(source):
            reason = "not finished in the archive"
        elif _comparable(json.loads((source / RESULT).read_text())["config"]) != _comparable(config.to_dict()):
            reason = "archived with another configuration"
        else:
            check = verify_run(source)
            if check.passed:
                stage(source.parent.name, source.name, out_dir)
                return json.loads((Path(out_dir) / RESULT).read_text())
            reason = f"failed verification (epoch {check.epoch}, largest deviation {check.max_deviation:.3g})"
        print(f"archived run {archived}: {reason}; training it here", flush=True)
    return run_or_skip(config, out_dir, skip_unavailable, progress=False, overwrite=True)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    """``python -m qrnn_study.archive {produce,verify} PROFILE``; returns 0, 1 (a run failed verification) or 2."""
    parser = argparse.ArgumentParser(prog="python -m qrnn_study.archive", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("produce", "verify"))
    parser.add_argument("profile")
    parser.add_argument("runs", nargs="*", help="produce: the runs to make (default: all of the profile)")
    parser.add_argument("--updates", type=int, default=DEFAULT_UPDATES, help="verify: updates replayed per run")
    args = parser.parse_args(argv)
    try:
        if args.command == "produce":
            produce(args.profile, args.runs or None)
            return 0
        checks = verify_profile(args.profile, args.updates)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for c in checks:
        state = "ok" if c.passed else "FAILED, re-run it"
        print(
            f"{c.run}: epoch {c.epoch}, {c.updates_replayed} updates, largest deviation {c.max_deviation:.3g} {state}"
        )
    failed = [c.run for c in checks if not c.passed]
    size = _size(archive_dir(args.profile)) / 2**20 if archive_dir(args.profile).is_dir() else 0.0
    print(
        f"verified {len(checks)} archived runs of {args.profile}: {sum(c.updates_replayed for c in checks)} updates "
        f"replayed, largest deviation {max((c.max_deviation for c in checks), default=0.0):.3g}, "
        f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}; archive {size:.1f} MiB"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
