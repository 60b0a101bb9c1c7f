"""The ablations chapter: what each part of the QRNN contributes.

Variants, each a configuration of the library's model (``qrnn_core.model.QRNNConfig``):

- *random reservoir*: the input layer frozen at its seeded random initialisation, the
  readout fitted in closed form by ridge (``qrnn_core.readout``), several reservoir seeds
  and memory sizes;
- *trained, readout refitted*: the input layer of each trained run of the profile (main
  runs and the seeds sweep, at their best epoch) with only the readout refitted by ridge;
- *the ablation sweep* (``configs/<profile>/sweeps/ablations.yaml``): ordinary training runs
  at several memory sizes and with the recurrence removed (CRX staircase held at 0);
- *memoryless classical*: ridge on polynomial features of the current x alone.

Every ridge strength or degree is chosen on the held-out tail of the training pool, never
on the validation sequence; every RMSE is the validation sequence's, run in one go.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from qrnn_core import files
from qrnn_core.data import DEFAULT_CACHE, LorenzData, load_lorenz
from qrnn_core.estimators import method_label
from qrnn_core.model import QRNN
from qrnn_core.readout import DEFAULT_ALPHAS, fit_ridge, refit_readout
from qrnn_core.training import TrainConfig, epoch_checkpoint, evaluate

from .. import study
from ..classical import Split, rmse_scores, split
from ..intervals import welch_interval
from ..study import StudyRun
from ..style import RMSE_AXIS, method_color

CHAPTER = "ablations"


@dataclass(frozen=True)
class Outputs:
    """The ablations chapter's files: one row per fitted or trained model (``table``), one per variant (``summary``)."""

    table: str = "ablations.csv"
    summary: str = "ablations_summary.csv"


OUTPUTS = Outputs()

# The columns of build/<profile>/data/ablations/ablations.csv (shots 0: exact distributions; update_s: mean wall
# time of one weight update, empty for closed-form fits; fit_time_s: the whole fit or training).
COLUMNS = ["variant", "n_qubits", "trained_parameters", "method", "shots", "seed", "rmse_y", "rmse_z", "rmse_mean"]
COLUMNS += ["fit_time_s", "update_s"]

RESERVOIR = "random reservoir, ridge readout"
AS_TRAINED = "trained QRNN, as trained"
REFITTED = "trained QRNN, ridge readout refitted"
WITH_MEMORY = "trained (ablation sweep), with recurrence"
NO_MEMORY = "trained (ablation sweep), no recurrence"
MEMORYLESS = "classical, memoryless (polynomial of the current x)"


@dataclass(frozen=True)
class Fitting:
    """How the closed-form fits see the data: the training pool cut as the classical baselines cut it
    (``qrnn_study.classical.split``: fitting windows, a held-out tail run in one go), the validation steps."""

    data: LorenzData
    pool: Split
    windows: np.ndarray  # indices of the fitting windows used (evenly spaced)
    val_length: int
    settings: dict  # the profile's data settings (TrainConfig fields)
    washout: int = 5

    @classmethod
    def of(
        cls,
        profile: str,
        ridge_windows: int | None,
        val_length: int | None,
        holdout: float,
        root: str | Path | None = None,
    ) -> Fitting:
        """The profile's series; ``ridge_windows`` evenly spaced fitting windows (``None``: all)."""
        data = load_lorenz(study.profile_data(profile, root), str(DEFAULT_CACHE))
        pool = split(data, holdout)
        n_all = pool.windows_fit.shape[0]
        count = n_all if ridge_windows is None else min(ridge_windows, n_all)
        windows = np.unique(np.linspace(0, n_all - 1, count).round().astype(int))
        settings = study.data_settings(profile, root)
        return cls(data, pool, windows, val_length or data.val_inputs.shape[1], settings)

    def refit(self, model: QRNN) -> dict:
        """Ridge-fit the model's readout; its validation scores, the fit's seconds and the chosen ridge strength."""
        p = self.pool
        start = time.perf_counter()
        fit = refit_readout(
            model,
            torch.from_numpy(p.windows_fit[self.windows, :, None]),
            torch.from_numpy(p.window_targets_fit[self.windows]),
            self.washout,
            torch.from_numpy(p.x_tail[None, :, None]),
            torch.from_numpy(p.y_tail[None]),
            DEFAULT_ALPHAS,
        )
        seconds = time.perf_counter() - start
        return self.validate(model) | {"fit_time_s": seconds, "alpha": fit.alpha}

    def validate(self, model: QRNN) -> dict:
        """Validation RMSE (y, z, mean) of the model on the first ``val_length`` validation steps."""
        d = self.data
        scores = evaluate(
            model,
            torch.from_numpy(d.val_inputs[:, : self.val_length]),
            torch.from_numpy(d.val_targets[:, : self.val_length]),
        )
        return {k: scores[k] for k in ("rmse_y", "rmse_z", "rmse_mean")}


def _exact_config(fitting: Fitting, **fields: object) -> TrainConfig:
    """A configuration on the fitted series whose model gives exact distributions (for ridge fits)."""
    return TrainConfig(**fitting.settings | {"method": "exact", "shots": None, "cache_dir": None} | fields)


def reservoir_rows(fitting: Fitting, n_qubits: int, seeds: list[int]) -> list[dict]:
    """One row per reservoir seed: input layer at its seeded initialisation (frozen), ridge readout."""
    rows = []
    for seed in seeds:
        config = _exact_config(fitting, n_qubits=n_qubits, freeze_input=True, seed=seed).model_config()
        scores = fitting.refit(QRNN(config, seed=seed))
        rows.append(
            {
                "variant": RESERVOIR,
                "n_qubits": n_qubits,
                "trained_parameters": config.trained_parameters,
                "method": "ridge",
                "shots": 0,
                "seed": seed,
                "update_s": np.nan,
            }
            | scores
        )
    return rows


def _best_scores(run: StudyRun) -> dict:
    """The run's best validation epoch's RMSE (``initial_validation`` if it trained no epoch)."""
    if not run.epoch_records:
        first = run.initial_validation
        return {k: first[k] for k in ("rmse_y", "rmse_z", "rmse_mean")}
    best = min(run.epoch_records, key=lambda e: e["val_rmse_mean"])
    return {k: best[f"val_{k}"] for k in ("rmse_y", "rmse_z", "rmse_mean")}


def _run_row(run: StudyRun, variant: str) -> dict:
    """The row of a trained run: its configuration, best validation RMSE and costs."""
    config = run.config
    model = TrainConfig.from_dict(config | {"device": "cpu", "cache_dir": None}).model_config()
    timings = run.timings
    return {
        "variant": variant,
        "n_qubits": config["n_qubits"],
        "trained_parameters": model.trained_parameters,
        "method": config["method"],
        "shots": config["shots"] or 0,
        "seed": config["seed"],
        "fit_time_s": timings["total_s"],
        "update_s": timings["mean_update_s"],
    } | _best_scores(run)


def refit_rows(fitting: Fitting, runs: list[StudyRun]) -> list[dict]:
    """For each trained run: a row as trained, and a row with its best epoch's input layer and a ridge readout."""
    rows = []
    for run in runs:
        trained = _run_row(run, AS_TRAINED)
        config = run.config
        exact = _exact_config(fitting, n_qubits=config["n_qubits"], seed=config["seed"]).model_config()
        model = QRNN(exact, seed=config["seed"])
        state = torch.load(epoch_checkpoint(run.run_dir, run.best_epoch), weights_only=False)
        model.load_state_dict(state["model"])
        refitted = fitting.refit(model)
        rows += [trained, trained | {"variant": REFITTED, "update_s": np.nan} | refitted]
    return rows


def sweep_rows(runs: list[StudyRun]) -> list[dict]:
    """One row per run of the ablation sweep, with or without recurrence."""
    return [_run_row(run, WITH_MEMORY if run.params.get("recurrence", True) else NO_MEMORY) for run in runs]


def polynomial(x: np.ndarray, degree: int) -> np.ndarray:
    """Features ``x, x^2, ..., x^degree`` (n, degree) of the values ``x`` (n,)."""
    return np.stack([np.asarray(x, float) ** k for k in range(1, degree + 1)], axis=-1)


def memoryless_rows(fitting: Fitting, degrees: tuple[int, ...] = tuple(range(1, 11))) -> list[dict]:
    """Ridge on polynomial features of the current x alone, the degree chosen on the held-out tail."""
    start = time.perf_counter()
    s = fitting.pool
    held = {}
    for degree in degrees:
        weight, bias = fit_ridge(polynomial(s.x_fit, degree), s.y_fit, 1e-9)
        held[degree] = rmse_scores(polynomial(s.x_tail, degree) @ weight.T + bias, s.y_tail)["rmse_mean"]
    degree = min(held, key=held.get)
    x_all, y_all = np.concatenate([s.x_fit, s.x_tail]), np.vstack([s.y_fit, s.y_tail])
    weight, bias = fit_ridge(polynomial(x_all, degree), y_all, 1e-9)
    n = fitting.val_length
    scores = rmse_scores(polynomial(s.x_val[:n], degree) @ weight.T + bias, s.y_val[:n])
    row = {"variant": f"{MEMORYLESS}, degree {degree}", "n_qubits": 0, "trained_parameters": weight.size + bias.size}
    return [
        row
        | {"method": "ridge", "shots": 0, "seed": 0, "update_s": np.nan}
        | scores
        | {"fit_time_s": time.perf_counter() - start}
    ]


def build_table(rows: list[dict]) -> pd.DataFrame:
    """The rows in :data:`COLUMNS` order."""
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def _trained_by(row: pd.Series) -> str:
    if row["method"] == "ridge":
        return "closed form (ridge)"
    shots = "exact distributions" if row["shots"] == 0 else f"{int(row['shots'])} shots"
    return f"{method_label(row['method'])}, {shots}"


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """One row per variant (variant, qubits, method, shots): seeds, mean, SD and best validation RMSE, costs."""
    keys = ["variant", "n_qubits", "method", "shots"]
    out = (
        table.groupby(keys, sort=False)
        .agg(
            trained_parameters=("trained_parameters", "first"),
            seeds=("seed", "nunique"),
            rmse_mean=("rmse_mean", "mean"),
            rmse_sd=("rmse_mean", "std"),
            rmse_best=("rmse_mean", "min"),
            fit_time_s=("fit_time_s", "mean"),
            update_s=("update_s", "mean"),
        )
        .reset_index()
    )
    return out.assign(trained_by=out.apply(_trained_by, axis=1))


# How the book shows the summary's columns.
SUMMARY_HEADERS = {
    "variant": "variant",
    "n_qubits": "qubits (0: none)",
    "trained_by": "trained by",
    "trained_parameters": "trained parameters",
    "seeds": "seeds",
    "rmse_mean": "validation RMSE, mean over seeds",
    "rmse_sd": "SD over seeds",
    "rmse_best": "best seed",
    "update_s": "cost per update (s)",
    "fit_time_s": "fit or training time (s)",
}
SUMMARY_FORMATS = {"rmse_mean": ".4f", "rmse_sd": ".4f", "rmse_best": ".4f", "update_s": ".4f", "fit_time_s": ".1f"}


def figure(summary: pd.DataFrame, classical: pd.DataFrame | None = None) -> Figure:
    """Validation RMSE (mean ± SD over seeds) against trained parameters; classical baselines as grey points."""
    fig, ax = plt.subplots(figsize=(9.0, 4.2))
    markers = {RESERVOIR: "o", AS_TRAINED: "s", REFITTED: "D", WITH_MEMORY: "^", NO_MEMORY: "v"}
    methods = sorted(set(summary["method"]) - {"ridge"})
    for _, row in summary.iterrows():
        marker = markers.get(row["variant"], "P")
        shift = 1.0 if row["method"] == "ridge" else 1.0 + 0.04 * methods.index(row["method"])
        colour = "0.2" if row["method"] == "ridge" else method_color(row["method"])
        sd = 0.0 if pd.isna(row["rmse_sd"]) else row["rmse_sd"]
        face = "none" if row["variant"] in (RESERVOIR, REFITTED) else colour
        ax.errorbar(
            row["trained_parameters"] * shift, row["rmse_mean"], yerr=sd, fmt=marker, color=colour, mfc=face, capsize=2
        )
        if row["n_qubits"] and row["variant"] in (RESERVOIR, WITH_MEMORY, NO_MEMORY):
            ax.annotate(
                f"n={int(row['n_qubits'])}",
                (row["trained_parameters"], row["rmse_mean"]),
                fontsize=7,
                xytext=(4, 2),
                textcoords="offset points",
            )
    if classical is not None and len(classical):
        rows = classical[(classical["kind"] == "classical") & classical["parameters"].notna()]
        ax.scatter(rows["parameters"], rows["rmse_mean"], color="0.6", marker="x", s=18, label="classical baselines")
    handles = [
        plt.Line2D([], [], ls="", marker=m, color="0.3", mfc="none" if v in (RESERVOIR, REFITTED) else "0.3", label=v)
        for v, m in markers.items()
        if v in set(summary["variant"])
    ]
    if any(v.startswith(MEMORYLESS) for v in summary["variant"]):
        handles.append(plt.Line2D([], [], ls="", marker="P", color="0.2", label=MEMORYLESS))
    handles += [plt.Line2D([], [], ls="", marker="s", color=method_color(m), label=method_label(m)) for m in methods]
    if classical is not None and len(classical):
        handles.append(plt.Line2D([], [], ls="", marker="x", color="0.6", label="classical baselines (tuned)"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_xscale("log")
    ax.set_xlabel("trained parameters")
    ax.set_ylabel(f"best validation {RMSE_AXIS}")
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class Findings:
    """The chapter's answers, computed from its table: a front-page line and the verdict paragraph."""

    sentence: str
    verdict: str
    answers: dict


def _compare(table: pd.DataFrame, better: pd.Series, worse: pd.Series) -> tuple[str, float, float, float]:
    """``"lower"``, ``"higher"`` or ``"no clear difference"``: the first set's RMSE against the second's (Welch 95%)."""
    diff, low, high = welch_interval(
        table.loc[better, "rmse_mean"].to_numpy(), table.loc[worse, "rmse_mean"].to_numpy()
    )
    word = "lower" if high < 0 else "higher" if low > 0 else "no clear difference"
    return word, diff, low, high


def _worded(word: str) -> str:
    return word if word == "no clear difference" else f"{word} RMSE"


def _mean_sd(values: pd.Series) -> str:
    spread = f" ± {values.std():.4f}" if len(values) > 1 else ""
    return f"{values.mean():.4f}{spread} over {len(values)} seed(s) or run(s)"


def findings(table: pd.DataFrame) -> Findings:
    """Answer from the table: does training beat a random reservoir, does recurrence help, does more memory help."""
    answers: dict = {}
    parts: list[str] = []
    reservoir = (table["variant"] == RESERVOIR) & (table["n_qubits"] == 8)
    trained = (table["variant"] == AS_TRAINED) & (table["n_qubits"] == 8)
    if reservoir.any() and trained.any():
        word, diff, low, high = _compare(table, trained, reservoir)
        answers["training_beats_reservoir"] = word
        parts.append(
            f"Training the input layer (n = 8, all trained runs: {_mean_sd(table.loc[trained, 'rmse_mean'])}) "
            f"against a random reservoir with a ridge readout ({_mean_sd(table.loc[reservoir, 'rmse_mean'])}): "
            f"{_worded(word)} (difference {diff:+.4f}, 95% interval {low:+.4f} to {high:+.4f})."
        )
        per_method = []
        for method in sorted(set(table.loc[trained, "method"])):
            runs = trained & (table["method"] == method)
            word, diff, _, _ = _compare(table, runs, reservoir)
            answers[f"training_beats_reservoir_{method}"] = word
            per_method.append(f"{method_label(method)}: {diff:+.4f} ({word})")
        parts.append(f"By gradient method (difference to the reservoir, Welch 95%): {'; '.join(per_method)}.")
        refitted = (table["variant"] == REFITTED) & (table["n_qubits"] == 8)
        if refitted.any():
            gain = (table.loc[trained, "rmse_mean"].to_numpy() - table.loc[refitted, "rmse_mean"].to_numpy()).mean()
            answers["refit_gain"] = float(gain)
            parts.append(f"Refitting the trained runs' readout by ridge changes their RMSE by {-gain:+.4f} on average.")
    for method in sorted(set(table.loc[table["variant"] == NO_MEMORY, "method"])):
        sizes = table.loc[(table["variant"] == NO_MEMORY) & (table["method"] == method), "n_qubits"]
        same = (table["method"] == method) & (table["n_qubits"] == sizes.max())
        on, off = same & (table["variant"] == WITH_MEMORY), same & (table["variant"] == NO_MEMORY)
        if on.any() and off.any():
            word, diff, low, high = _compare(table, on, off)
            answers[f"recurrence_helps_{method}"] = word
            parts.append(
                f"With the recurrence ({method_label(method)}, n = {sizes.max()}: "
                f"{_mean_sd(table.loc[on, 'rmse_mean'])}) against "
                f"without ({_mean_sd(table.loc[off, 'rmse_mean'])}): {_worded(word)} "
                f"(difference {diff:+.4f}, 95% interval {low:+.4f} to {high:+.4f})."
            )
    for variant in (WITH_MEMORY, RESERVOIR):
        rows = table[(table["variant"] == variant) & (table["method"].isin(["exact", "ridge"]))]
        sizes = sorted(set(rows["n_qubits"]))
        if len(sizes) >= 2:
            means = rows.groupby("n_qubits")["rmse_mean"].mean()
            small, large = rows["n_qubits"] == sizes[0], rows["n_qubits"] == sizes[-1]
            word, diff, low, high = _compare(rows, large, small)
            answers[f"more_memory_{'trained' if variant == WITH_MEMORY else 'reservoir'}"] = word
            trend = ", ".join(f"n={n}: {means[n]:.4f}" for n in sizes)
            parts.append(
                f"Memory size, {variant} ({trend}): n = {sizes[-1]} against n = {sizes[0]}: {_worded(word)} "
                f"(difference {diff:+.4f}, 95% interval {low:+.4f} to {high:+.4f})."
            )
    memoryless = table[table["variant"].str.startswith(MEMORYLESS)]
    if len(memoryless):
        parts.append(
            "For scale, a memoryless classical fit on the current x alone scores "
            f"{memoryless['rmse_mean'].iloc[0]:.4f}."
        )
    if "training_beats_reservoir" in answers:
        verb = {"lower": "beats", "higher": "is worse than", "no clear difference": "does not clearly beat"}
        sentence = (
            f"Ablations: training the QRNN's input layer {verb[answers['training_beats_reservoir']]} a random quantum "
            f"reservoir with a ridge readout (mean validation RMSE {table.loc[trained, 'rmse_mean'].mean():.4f} "
            f"against {table.loc[reservoir, 'rmse_mean'].mean():.4f} over {int(reservoir.sum())} reservoir seeds)."
        )
    else:
        sentence = "Ablations: not available in this build (no trained n = 8 run or no reservoir fit)."
    return Findings(sentence, " ".join(parts) or sentence, answers)


def write(profile: str, table: pd.DataFrame, root: str | Path | None = None) -> pd.DataFrame:
    """Write the per-model table (the notebook shows and writes the summary); return the per-variant summary."""
    files.write_csv(study.chapter_data_dir(profile, CHAPTER, root) / OUTPUTS.table, table)
    return summarize(table)


def load(profile: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """The per-model table (:data:`COLUMNS`), or ``None`` if the chapter did not run."""
    return study.read_output(profile, CHAPTER, OUTPUTS.table, root)


def front_line(profile: str, root: str | Path | None = None) -> str:
    """The front page's line for this chapter (:attr:`Findings.sentence`), or what is missing."""
    table = load(profile, root)
    return study.missing_output(CHAPTER, OUTPUTS.table) if table is None else findings(table).sentence
