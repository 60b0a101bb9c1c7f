"""The study's runs: profiles, run discovery, and the tables the book shows.

A profile (``smoke``, ``quick``, ``paper``) is a folder ``configs/<profile>/`` holding
one YAML file per training run in ``train/`` (papermill parameters of
``notebooks/train.ipynb``) and one YAML file per chapter notebook. ``make book`` writes
each run to ``build/<profile>/runs/<name>/``, named after its configuration file.
Summary notebooks find runs through :func:`load_profile`, which reads the configuration
files (not the build folder), so a run whose configuration was removed is never shown.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from qrnn_core.data import LorenzConfig
from qrnn_core.protocol import TRAIN_WINDOWS, VALIDATION_STEPS
from qrnn_core.training import RESULT, RunRecord, TrainConfig, load_run, provenance

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("smoke", "quick", "paper")
# Keys of the paper's per-epoch validation RMSE in paper_reported.json, by method.
REPORTED_VALIDATION = {"spsa": "validation_rmse_per_epoch_spsa", "fdsa": "validation_rmse_per_epoch_fdsa"}
NOT_RUN = "not run here"


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is known, else raise ``ValueError`` listing the choices."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    return profile


def repo_root(root: str | Path | None = None) -> Path:
    """The repository the study runs in (``root``, or the one this package lives in)."""
    return REPO_ROOT if root is None else Path(root).resolve()


def build_dir(profile: str, root: str | Path | None = None) -> Path:
    """A profile's build folder, ``<root>/build/<profile>/`` (not created); every build path starts here.

    Example:
        >>> build_dir("smoke", "/repo").as_posix()
        '/repo/build/smoke'
    """
    return repo_root(root) / "build" / check_profile(profile)


def runs_dir(profile: str, root: str | Path | None = None) -> Path:
    """Where ``make book PROFILE=<profile>`` writes the run folders."""
    return build_dir(profile, root) / "runs"


def chapter_data_dir(profile: str, chapter: str, root: str | Path | None = None) -> Path:
    """A chapter's own data folder, ``<root>/build/<profile>/data/<chapter>/`` (created).

    The Makefile deletes it before the chapter re-runs; the book links its tables' CSV files.
    """
    if not chapter or not chapter.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"chapter must be a notebook name of letters, digits, '_' and '-', got {chapter!r}")
    path = build_dir(profile, root) / "data" / chapter
    path.mkdir(parents=True, exist_ok=True)
    return path


def chapter_file(profile: str, chapter: str, name: str, root: str | Path | None = None) -> Path:
    """Where a chapter's output file ``name`` lives, ``build/<profile>/data/<chapter>/<name>`` (nothing created).

    Chapter modules call this with a field of their ``OUTPUTS``; other chapters use the owner's ``load``.
    """
    return build_dir(profile, root) / "data" / chapter / name


def read_output(profile: str, chapter: str, name: str, root: str | Path | None = None) -> pd.DataFrame | dict | None:
    """A chapter's output file read back (``.csv``: a DataFrame, ``.json``: a dict), or ``None`` if not written."""
    path = chapter_file(profile, chapter, name, root)
    if not path.is_file():
        return None
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".json":
        return json.loads(path.read_text())
    raise ValueError(f"cannot read {path}: allowed suffixes are .csv and .json")


def missing_output(chapter: str, name: str) -> str:
    """What a page says in place of a finding whose data a chapter did not write."""
    return f"*Not available in this build: the `{chapter}` chapter wrote no `{name}`.*"


def _recorded(key: str, doc: str) -> property:
    """A read-only attribute of a :class:`StudyRun` that is the entry ``key`` of its ``result.json``."""
    return property(lambda run: run.record.result[key], doc=doc)


@dataclass
class StudyRun:
    """One configured run of a profile: its parameters, folder and what the folder holds."""

    name: str
    params: dict
    run_dir: Path
    record: RunRecord | None

    @property
    def method(self) -> str:
        return self.params["method"]

    @property
    def label(self) -> str:
        return self.params.get("run_label") or self.name

    @property
    def status(self) -> str:
        """``complete``, ``skipped`` (with the reason recorded by the run) or ``missing``."""
        return "missing" if self.record is None else self.record.result["status"]

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def status_text(self) -> str:
        """What the book prints in place of numbers for a run that has none."""
        if self.status == "skipped":
            reason = self.record.result["reason"].removeprefix("skipped: ")
            return f"{NOT_RUN} ({reason})"
        return f"{NOT_RUN} (no run folder: run `make runs`)" if self.status == "missing" else ""

    @property
    def epochs(self) -> pd.DataFrame:
        """Per-epoch validation and training RMSE, epoch 0 being the untrained model."""
        first = self.initial_validation
        initial = {
            "epoch": 0,
            "val_rmse_y": first["rmse_y"],
            "val_rmse_z": first["rmse_z"],
            "val_rmse_mean": first["rmse_mean"],
        }
        return pd.DataFrame([initial, *self.epoch_records])

    # The study's one reader of a run's result.json (qrnn_core.training writes it; RunRecord holds it):
    # chapters use these instead of digging into the dict.
    config = _recorded("config", "The training configuration the run recorded (``TrainConfig.to_dict()``).")
    provenance = _recorded("provenance", "What the run recorded of its environment: versions, commit, device, data.")
    timings = _recorded("timings", "The run's wall times (``total_s``, per update and per validation pass).")
    epoch_records = _recorded("epochs", "One record per trained epoch (validation RMSE, times, evaluations).")
    initial_validation = _recorded("initial_validation", "Validation RMSE (y, z, mean) of the untrained model.")
    best_epoch = _recorded("best_epoch", "The epoch with the lowest validation mean RMSE (0: the untrained model).")

    @property
    def validation_checks(self) -> list[dict]:
        """The validations inside epochs of a run with ``validate_every`` (update, epoch, RMSEs); else empty."""
        return [] if self.record is None else self.record.result.get("validation_checks", [])

    @property
    def archived(self) -> dict | None:
        """Where the run came from and how it was verified, for a run staged from the results archive."""
        return None if self.record is None else self.record.result.get("archive")

    def scale(self) -> str:
        """The scale a run was configured at, in words."""
        p = self.params
        n_train = p.get("n_train") or TRAIN_WINDOWS
        val = p.get("val_length") or VALIDATION_STEPS
        shots = "exact distributions" if p.get("shots") is None else f"{p['shots']} shots per step"
        return (
            f"{p['epochs']} epoch(s) x {n_train} sequences, {val} validation steps, {shots}, "
            f"{p.get('backend', 'torch')} backend on {p.get('device', 'cpu')}"
        )


SWEEP_KEYS = ("base", "cases", "grid", "name")
# Parameters the pipeline sets itself; a configuration may not set them.
RESERVED_PARAMS = ("sweep", "out_dir", "archive")
RUN_NAME = re.compile(r"[a-z0-9_-]+")


def _check_run_name(name: str, where: str) -> str:
    if not RUN_NAME.fullmatch(name):
        raise ValueError(f"{where}: run name {name!r} is not allowed; use only a-z, 0-9, '-' and '_'")
    return name


def expand_sweep(path: str | Path) -> dict[str, dict]:
    """The runs of one sweep file: ``<sweep>-<name>`` -> base | case | grid point | {"sweep": <sweep>}.

    The file holds ``base`` (parameters shared by every run), optional ``cases`` (a list of
    partial parameter dicts), optional ``grid`` (lists crossed with every case) and ``name``
    (a ``str.format`` template over a run's parameters; ``None`` reads ``none``). Bad specs raise ``ValueError``
    naming the file and the entry.
    """
    path = Path(path)
    sweep = _check_run_name(path.stem, f"sweep file {path}")
    spec = yaml.safe_load(path.read_text())
    if not isinstance(spec, dict):
        raise ValueError(f"sweep file {path}: must be a mapping with keys {', '.join(SWEEP_KEYS)}, got {spec!r}")
    unknown = sorted(set(spec) - set(SWEEP_KEYS))
    if unknown:
        raise ValueError(
            f"sweep file {path}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(SWEEP_KEYS)}"
        )
    base = spec.get("base") or {}
    cases = spec.get("cases") or [{}]
    grid = spec.get("grid") or {}
    template = spec.get("name")
    if not isinstance(base, dict):
        raise ValueError(f"sweep file {path}: 'base' must be a mapping of parameters, got {base!r}")
    if not isinstance(cases, list) or not all(isinstance(case, dict) for case in cases):
        raise ValueError(f"sweep file {path}: 'cases' must be a list of parameter mappings, got {cases!r}")
    if not isinstance(grid, dict) or not all(isinstance(v, list) and v for v in grid.values()):
        raise ValueError(f"sweep file {path}: 'grid' must map parameters to non-empty lists, got {grid!r}")
    if not isinstance(template, str) or not template:
        raise ValueError(
            f"sweep file {path}: 'name' must be a run-name template such as '{{method}}-s{{seed}}', got {template!r}"
        )
    for where, params in [("base", base), *((f"cases[{i}]", case) for i, case in enumerate(cases)), ("grid", grid)]:
        reserved = sorted(set(params) & set(RESERVED_PARAMS))
        if reserved:
            raise ValueError(f"sweep file {path}: {where} sets {', '.join(reserved)}, which the pipeline sets itself")
    runs: dict[str, dict] = {}
    for i, case in enumerate(cases):
        for point in itertools.product(*grid.values()):
            params = base | case | dict(zip(grid, point)) | {"sweep": sweep}
            try:
                formatted = template.format(**{k: "none" if v is None else v for k, v in params.items()})
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(
                    f"sweep file {path}: name template {template!r} cannot be filled from cases[{i}] "
                    f"with {dict(zip(grid, point))}: {error!r}"
                ) from None
            name = _check_run_name(
                f"{sweep}-{formatted}", f"sweep file {path}, cases[{i}] with {dict(zip(grid, point))}"
            )
            if name in runs:
                raise ValueError(
                    f"sweep file {path}: run name {name!r} is produced twice (cases[{i}] with "
                    f"{dict(zip(grid, point))}); make the name template tell the runs apart"
                )
            runs[name] = params
    return runs


def run_configs(profile: str, root: str | Path | None = None) -> dict[str, dict]:
    """The training runs of a profile: run name -> papermill parameters of ``notebooks/train.ipynb``.

    One run per ``configs/<profile>/train/<run>.yaml`` (named after the file) and the
    expanded runs of every ``configs/<profile>/sweeps/<sweep>.yaml`` (see :func:`expand_sweep`),
    in that order. Run names are unique across all of them (``ValueError`` otherwise).
    """
    config_dir = repo_root(root) / "configs" / check_profile(profile)
    runs: dict[str, dict] = {}
    for path in sorted((config_dir / "train").glob("*.yaml")):
        params = yaml.safe_load(path.read_text()) or {}
        if not isinstance(params, dict):
            raise ValueError(f"run file {path}: must be a mapping of parameters, got {params!r}")
        reserved = sorted(set(params) & set(RESERVED_PARAMS))
        if reserved:
            raise ValueError(f"run file {path}: sets {', '.join(reserved)}, which the pipeline sets itself")
        runs[_check_run_name(path.stem, f"run file {path}")] = params
    for path in sorted((config_dir / "sweeps").glob("*.yaml")):
        for name, params in expand_sweep(path).items():
            if name in runs:
                raise ValueError(
                    f"sweep file {path}: run name {name!r} is already used by another run of profile {profile!r}"
                )
            runs[name] = params
    if not runs:
        raise FileNotFoundError(f"no run configurations in {config_dir / 'train'} or {config_dir / 'sweeps'}")
    return runs


def chapter_names(profile: str, root: str | Path | None = None) -> list[str]:
    """The chapter notebooks a profile configures (one ``configs/<profile>/<chapter>.yaml`` each)."""
    return sorted(path.stem for path in (repo_root(root) / "configs" / check_profile(profile)).glob("*.yaml"))


def load_profile(profile: str, root: str | Path | None = None) -> list[StudyRun]:
    """Every run configured in ``configs/<profile>/train/``, with its run folder read if it has a result."""
    runs = []
    for name, params in run_configs(profile, root).items():
        run_dir = runs_dir(profile, root) / name
        record = load_run(run_dir) if (run_dir / RESULT).is_file() else None
        runs.append(StudyRun(name, params, run_dir, record))
    return runs


def main_runs(runs: list[StudyRun]) -> list[StudyRun]:
    """The runs of ``configs/<profile>/train/`` (those that belong to no sweep)."""
    return [run for run in runs if run.params.get("sweep") is None]


# Training settings that choose the series (TrainConfig.data_config); a profile's main runs share them.
DATA_KEYS = ("data_seed", "data_path", "columns", "scale", "system")


def data_settings(profile: str, root: str | Path | None = None) -> dict:
    """The data settings (:data:`DATA_KEYS` that are set) the profile's main runs share, as ``TrainConfig`` fields.

    Raises:
        ValueError: the profile's main runs train on different series (naming them).
    """
    keys = [k for k in DATA_KEYS if k in TrainConfig.__dataclass_fields__]
    settings = {
        name: {k: params[k] for k in keys if params.get(k) is not None}
        for name, params in run_configs(profile, root).items()
        if params.get("sweep") is None
    }
    distinct = {json.dumps(s, sort_keys=True) for s in settings.values()}
    if len(distinct) > 1:
        raise ValueError(f"the main runs of profile {profile!r} train on different series: {settings}")
    return next(iter(settings.values()), {})


def profile_data(profile: str, root: str | Path | None = None) -> LorenzConfig:
    """The series the profile's main runs train on (:func:`data_settings`), for chapters that read the data."""
    return TrainConfig(**data_settings(profile, root)).data_config()


def profile_scales(root: str | Path | None = None) -> pd.DataFrame:
    """The scale of every configured run of every profile (sweeps left out), in words."""
    rows = [
        {
            "profile": profile,
            "run": params.get("run_label", name),
            "scale": StudyRun(name, params, Path(), None).scale(),
        }
        for profile in PROFILES
        for name, params in run_configs(profile, root).items()
        if params.get("sweep") is None
    ]
    return pd.DataFrame(rows).set_index(["profile", "run"])


# Settings a run may differ in from a sweep variant and still be one of its members, besides what the sweep varies.
MEMBER_FREE_KEYS = ("epochs", "cache_dir", "validate_every")  # none changes the updates a run makes


def settings_key(run: StudyRun, varied: str | None = None) -> dict:
    """A complete run's training configuration without ``varied`` (what a sweep varies) and :data:`MEMBER_FREE_KEYS`.

    The one rule for "a run counts as a member of a sweep variant": its key equals the variant's
    and it ran at least the variant's epochs (training is deterministic epoch by epoch, so its
    first epochs are what the shorter run gives). The seeds sweep varies ``seed``; the
    trajectories sweep varies ``data_seed``; ``None`` keeps every setting that changes the updates.
    """
    free = {varied, *MEMBER_FREE_KEYS}
    return {k: v for k, v in run.config.items() if k not in free}


def pick(runs: list[StudyRun], method: str, device: str = "cpu") -> StudyRun:
    """The run of a method on a device (the first one configured)."""
    for run in runs:
        if run.method == method and run.params.get("device", "cpu") == device:
            return run
    raise LookupError(f"the profile configures no {method!r} run on device {device!r}")


def paper_reported(root: str | Path | None = None) -> dict:
    """The paper's reported numbers (``book/paper_reported.json``)."""
    return json.loads((repo_root(root) / "book" / "paper_reported.json").read_text())


def paper_best(reported: dict) -> dict[str, float]:
    """The paper's best validation mean RMSE per method (SPSA, FDSA), from its reported per-epoch values."""
    return {
        method: float(reported_validation(reported, method)["val_rmse_mean"].min()) for method in REPORTED_VALIDATION
    }


def reported_validation(reported: dict, method: str) -> pd.DataFrame | None:
    """The paper's per-epoch validation RMSE of a method (epochs from 1), or ``None``."""
    key = REPORTED_VALIDATION.get(method)
    if key is None:
        return None
    rows = np.asarray(reported[key])
    return pd.DataFrame(
        {
            "epoch": np.arange(1, len(rows) + 1),
            "val_rmse_y": rows[:, 0],
            "val_rmse_z": rows[:, 1],
            "val_rmse_mean": rows[:, 2],
        }
    )


def machine(runs: list[StudyRun]) -> str:
    """The hardware the profile's complete runs ran on, from their provenance."""
    seen = []
    for run in runs:
        if run.complete:
            device = run.provenance["device"]
            text = f"{device['cpu']}, torch threads: {device['torch_threads']}"
            if device.get("cuda_device"):
                text += f", {device['cuda_device']}"
            if text not in seen:
                seen.append(text)
    return "; ".join(seen) or "no complete run"


def machine_text() -> str:
    """This machine in words, for captions: CPU model, torch threads and cores."""
    device = provenance(TrainConfig())["device"]
    return f"{device['cpu']} ({device['torch_threads']} torch threads, {os.cpu_count()} cores), no GPU used"


def archive_note(runs: list[StudyRun]) -> str:
    """Which of ``runs`` come from the results archive, where and when they ran, and their verification here."""
    archived = [run for run in runs if run.archived]
    if not archived:
        return ""
    created = sorted(run.provenance["created"][:10] for run in archived)
    when = created[0] if created[0] == created[-1] else f"{created[0]} to {created[-1]}"
    replayed = sum(run.archived["updates_replayed"] for run in archived)
    deviation = max(run.archived["max_loss_deviation"] for run in archived)
    deviation = max(deviation, *(run.archived["validation_deviation"] for run in archived))
    source = Path(archived[0].archived["source"]).parent
    return (
        f"{len(archived)} of {len(runs)} run(s) come from the results archive `{source}/` (run on "
        f"{machine(archived)}, {when}) and were verified in this build: {replayed} updates replayed from their "
        f"checkpoints and one validation recomputed per run, largest deviation {deviation:.3g}."
    )


def caption(profile: str, runs: list[StudyRun], what: str) -> str:
    """A caption stating the profile, the scale of every run shown, the machine and what came from the archive."""
    scales = "; ".join(f"{run.label}: {run.scale()}" + ("" if run.complete else f", {run.status_text}") for run in runs)
    note = archive_note(runs)
    return f"{what} Profile `{profile}`: {scales}. Machine: {machine(runs)}." + (f" {note}" if note else "")


def run_from_folder(run_dir: str | Path, label: str | None = None) -> StudyRun:
    """A complete run folder written outside the profile's runs (e.g. by a chapter), with its recorded config."""
    record = load_run(run_dir)
    params = record.result["config"] | {"run_label": label or Path(run_dir).name}
    return StudyRun(Path(run_dir).name, params, Path(run_dir), record)


# The study's one definition of a run's accuracy, named on every page that shows it.
BEST_RMSE = "best validation mean RMSE (lowest over the trained epochs)"


def best_validation(run: StudyRun) -> tuple[float, int]:
    """A complete run's :data:`BEST_RMSE` and the epoch it was reached at (epochs >= 1; 0 is the untrained model).

    Raises:
        ValueError: the run is not complete or trained no epoch.
    """
    if not run.complete or not run.epoch_records:
        raise ValueError(f"run {run.name!r} has no trained epoch (status {run.status!r}); allowed: complete runs")
    trained = run.epochs[run.epochs["epoch"] > 0]
    best = trained.loc[trained["val_rmse_mean"].idxmin()]
    return float(best["val_rmse_mean"]), int(best["epoch"])


def mean_sd(values, digits: int = 4, unit: str = "seeds") -> str:
    """``mean ± SD (n = k seeds)`` of a sample, the study's one way of writing a spread; one value says n = 1.

    Example:
        >>> mean_sd([0.1, 0.2, 0.3], 2)
        '0.20 ± 0.10 (n = 3 seeds)'
    """
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"mean_sd needs a non-empty 1-D sample, got {values!r}")
    if array.size == 1:
        return f"{array[0]:.{digits}f} (n = 1 {unit.rstrip('s')}: no spread)"
    return f"{array.mean():.{digits}f} ± {array.std(ddof=1):.{digits}f} (n = {array.size} {unit})"
