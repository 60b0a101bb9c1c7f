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
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import yaml

from qrnn_core.files import copy_file
from qrnn_core.protocol import TRAIN_WINDOWS, VALIDATION_STEPS
from qrnn_core.training import RESULT, RunRecord, load_run

from . import manifest

REPO_ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("smoke", "quick", "paper")
# Keys of the paper's per-epoch validation RMSE in paper_reported.json, by method.
REPORTED_VALIDATION = {"spsa": "validation_rmse_per_epoch_spsa", "fdsa": "validation_rmse_per_epoch_fdsa"}
NOT_RUN = "not run here"
# Folder of book/generated/ whose contents the built book serves at its root (html_extra_path in book/_config.yml).
BOOK_EXTRA = "_extra"


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is known, else raise ``ValueError`` listing the choices."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    return profile


def repo_root(root: str | Path | None = None) -> Path:
    """The repository the study runs in (``root``, or the one this package lives in)."""
    return REPO_ROOT if root is None else Path(root).resolve()


def runs_dir(profile: str, root: str | Path | None = None) -> Path:
    """Where ``make book PROFILE=<profile>`` writes the run folders."""
    return repo_root(root) / "build" / check_profile(profile) / "runs"


def chapter_data_dir(profile: str, chapter: str, root: str | Path | None = None) -> Path:
    """A chapter's own data folder, ``<root>/build/<profile>/data/<chapter>/`` (created).

    The Makefile deletes it before the chapter re-runs; the book links its tables' CSV files.
    """
    if not chapter or not chapter.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"chapter must be a notebook name of letters, digits, '_' and '-', got {chapter!r}")
    path = repo_root(root) / "build" / check_profile(profile) / "data" / chapter
    path.mkdir(parents=True, exist_ok=True)
    return path


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
        result = self.record.result
        first = result["initial_validation"]
        initial = {
            "epoch": 0,
            "val_rmse_y": first["rmse_y"],
            "val_rmse_z": first["rmse_z"],
            "val_rmse_mean": first["rmse_mean"],
        }
        return pd.DataFrame([initial, *result["epochs"]])

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


def stage_book(profile: str, root: str | Path | None = None) -> Path:
    """Replace ``book/generated`` with the profile's executed notebooks; return that folder.

    Chapters go to ``generated/<chapter>.ipynb`` with their parameter cells hidden,
    training runs to ``generated/train/<run>.ipynb`` with the run's label added to the
    page title (their parameters stay visible). The tables' CSV files of each chapter
    (``build/<profile>/data/<chapter>/*.csv``) go to ``generated/_extra/data/<chapter>/``,
    which the book serves as ``data/<chapter>/`` (``html_extra_path``). Only
    notebooks of configurations that exist now are copied, so nothing stale is staged,
    and nothing is staged unless every chapter's and run's files match their manifests
    (``make runs`` re-runs a task whose inputs changed, before the book is staged).

    Raises:
        qrnn_study.manifest.Damaged: naming every file (or manifest) that is missing, changed or not listed.
    """
    root = repo_root(root)
    build = root / "build" / check_profile(profile)
    dest = root / "book" / "generated"
    chapters, runs = chapter_names(profile, root), run_configs(profile, root)
    sealed = [(f"data/{chapter}", f"chapters/{chapter}.ipynb") for chapter in chapters]
    sealed += [(f"runs/{name}", f"train/{name}.ipynb") for name in runs]
    problems = [
        problem
        for folder, notebook in sealed
        for problem in manifest.damage(f"build/{profile}/{folder}", f"build/{profile}/{notebook}", root)
    ]
    if problems:
        raise manifest.Damaged(
            f"not staging the book of profile {profile}: "
            + "; ".join(problems)
            + f" (`make runs PROFILE={profile}` runs the damaged tasks again)"
        )
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "train").mkdir(parents=True)
    (dest / BOOK_EXTRA / "data").mkdir(parents=True)
    for chapter in chapters:
        for table in sorted((build / "data" / chapter).glob("*.csv")):
            copy_file(table, dest / BOOK_EXTRA / "data" / chapter / table.name)
        notebook = nbformat.read(build / "chapters" / f"{chapter}.ipynb", as_version=4)
        for cell in notebook.cells:
            tags = cell.metadata.get("tags", [])
            if "parameters" in tags or "injected-parameters" in tags:
                cell.metadata["tags"] = [*tags, "remove-cell"]
        nbformat.write(notebook, dest / f"{chapter}.ipynb")
    for name, params in runs.items():
        notebook = nbformat.read(build / "train" / f"{name}.ipynb", as_version=4)
        title = notebook.cells[0]
        title.source = title.source.replace("# Training run", f"# Training run: {params.get('run_label', name)}", 1)
        nbformat.write(notebook, dest / "train" / f"{name}.ipynb")
    return dest


def pick(runs: list[StudyRun], method: str, device: str = "cpu") -> StudyRun:
    """The run of a method on a device (the first one configured)."""
    for run in runs:
        if run.method == method and run.params.get("device", "cpu") == device:
            return run
    raise LookupError(f"the profile configures no {method!r} run on device {device!r}")


def paper_reported(root: str | Path | None = None) -> dict:
    """The paper's reported numbers (``book/paper_reported.json``)."""
    return json.loads((repo_root(root) / "book" / "paper_reported.json").read_text())


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


def validation_table(run: StudyRun, reported: dict) -> pd.DataFrame:
    """Per-epoch validation RMSE of a run beside the paper's reported mean for its method, at the run's epochs."""
    table = run.epochs.set_index("epoch")[["val_rmse_y", "val_rmse_z", "val_rmse_mean", "train_rmse"]]
    table.columns = ["y (measured)", "z (measured)", "mean (measured)", "training RMSE (measured)"]
    paper = reported_validation(reported, run.method)
    if paper is not None:
        table = table.join(paper.set_index("epoch")["val_rmse_mean"].rename("mean (reported by the paper)"), how="left")
    table.index.name = "epoch"
    return table


def best_table(runs: list[StudyRun], reported: dict) -> pd.DataFrame:
    """Best validation mean RMSE per run, beside the paper's best for the method."""
    rows = []
    for run in runs:
        paper = reported_validation(reported, run.method)
        row = {"run": run.label}
        if run.complete:
            epochs = run.epochs
            best = epochs.loc[epochs["val_rmse_mean"].idxmin()]
            row |= {
                "best validation mean RMSE (measured)": float(best["val_rmse_mean"]),
                "at epoch": int(best["epoch"]),
            }
        else:
            row |= {"best validation mean RMSE (measured)": run.status_text, "at epoch": None}
        if paper is None:
            row |= {"best (reported by the paper)": None, "paper's epoch": None}
        else:
            i = paper["val_rmse_mean"].idxmin()
            row |= {
                "best (reported by the paper)": float(paper["val_rmse_mean"][i]),
                "paper's epoch": int(paper["epoch"][i]),
            }
        rows.append(row)
    return pd.DataFrame(rows).set_index("run")


def cost_table(runs: list[StudyRun]) -> pd.DataFrame:
    """What each training run cost on this machine: measured per update, projected per paper epoch.

    The projection is ``TRAIN_WINDOWS x`` (1384) the measured mean update time plus one measured
    validation; it is labelled as projected wherever shown.
    """
    rows = []
    for run in runs:
        row = {"run": run.label}
        if run.complete:
            timings = run.record.result["timings"]
            updates = run.record.updates
            evaluations = updates["circuit_evaluations"].mean() if len(updates) else float("nan")
            projected = (
                TRAIN_WINDOWS * timings["mean_update_s"] + timings["mean_validation_s"]
                if len(updates)
                else float("nan")
            )
            row |= {
                "updates": len(updates),
                "sequence evaluations per update": float(evaluations),
                "mean time per update, s (measured)": timings["mean_update_s"],
                "validation pass, s (measured)": timings["mean_validation_s"],
                "whole run, s (measured)": timings["total_s"],
                f"{TRAIN_WINDOWS}-sequence epoch, min (projected)": projected / 60,
            }
        else:
            row |= {"updates": run.status_text}
        rows.append(row)
    return pd.DataFrame(rows).set_index("run")


def machine(runs: list[StudyRun]) -> str:
    """The hardware the profile's complete runs ran on, from their provenance."""
    seen = []
    for run in runs:
        if run.complete:
            device = run.record.result["provenance"]["device"]
            text = f"{device['cpu']}, torch threads: {device['torch_threads']}"
            if device.get("cuda_device"):
                text += f", {device['cuda_device']}"
            if text not in seen:
                seen.append(text)
    return "; ".join(seen) or "no complete run"


def provenance_table(runs: list[StudyRun]) -> pd.DataFrame:
    """Package versions, commit, device and creation time of every run, one row per run."""
    rows = []
    for run in runs:
        if run.record is None:
            rows.append({"run": run.label, "status": run.status_text})
            continue
        p = run.record.result["provenance"]
        device = p["device"]
        rows.append(
            {
                "run": run.label,
                "status": run.status if run.complete else run.status_text,
                "CPU": device["cpu"],
                "torch threads": device["torch_threads"],
                "CUDA device": device.get("cuda_device") or "none",
                **{k: v or "" for k, v in p["versions"].items()},
                "git commit": (p.get("git_commit") or "unknown")[:10],
                "created": p["created"],
            }
        )
    return pd.DataFrame(rows).set_index("run").fillna("")


def archive_note(runs: list[StudyRun]) -> str:
    """Which of ``runs`` come from the results archive, where and when they ran, and their verification here."""
    archived = [run for run in runs if run.archived]
    if not archived:
        return ""
    created = sorted(run.record.result["provenance"]["created"][:10] for run in archived)
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
