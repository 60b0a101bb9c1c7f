"""The shots-and-seeds chapter: validation RMSE over training seeds, the paper's two claims, cost against accuracy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qrnn_core.estimators import (
    method_label,
)
from qrnn_core.protocol import VALIDATION_STEPS

from .. import study
from ..intervals import _interval, sd_interval, sd_ratio_interval, share_interval, t_interval, welch_interval
from ..study import StudyRun, settings_key
from ..style import EPOCH_AXIS, RMSE_AXIS, legend_outside, limits_of, method_color

CHAPTER = "shots_and_seeds"


@dataclass(frozen=True)
class Outputs:
    """The shots-and-seeds chapter's tables: per-seed validation RMSE (``seeds``), their statistics, cost
    against accuracy."""

    seeds: str = "seeds.csv"
    statistics: str = "seed_statistics.csv"
    cost: str = "cost_accuracy.csv"
    fit: str = "fit_against_validation.csv"
    checks: str = "validation_checks.csv"


OUTPUTS = Outputs()


# The columns of build/<profile>/data/shots_and_seeds/seeds.csv (shots 0 = exact distributions).
SEED_COLUMNS = ["variant", "method", "shots", "seed", "epoch", "n_train", "rmse_y", "rmse_z", "rmse_mean"]


def _run_rows(run: StudyRun, variant: str, epochs: int) -> list[dict]:
    """Rows of :data:`SEED_COLUMNS` (plus ``run``) for epochs 0..``epochs`` of a complete run."""
    config = run.config
    n_train = config["n_train"] or int(run.record.updates["epoch"].eq(1).sum()) * config["batch_size"]
    table = run.epochs[run.epochs["epoch"] <= epochs]
    return [
        {
            "variant": variant,
            "method": config["method"],
            "shots": config["shots"] or 0,
            "seed": config["seed"],
            "epoch": int(row.epoch),
            "n_train": n_train,
            "rmse_y": row.val_rmse_y,
            "rmse_z": row.val_rmse_z,
            "rmse_mean": row.val_rmse_mean,
            "train_rmse": row.train_rmse,
            "run": run.name,
        }
        for row in table.itertuples()
    ]


def _variant_key(run: StudyRun) -> dict:
    """A complete run's training configuration without the settings a seed variant leaves free."""
    return settings_key(run, "seed")


def seed_table(runs: list[StudyRun], sweep: str = "seeds", include_main: bool = True) -> pd.DataFrame:
    """Per-epoch validation RMSE of every complete run of ``sweep``, one row per run and epoch (0 = untrained).

    A variant is a sweep case (its ``run_label``). With ``include_main``, a complete run
    of the profile outside any sweep whose training configuration equals a variant's but
    for the seed and :data:`qrnn_study.study.MEMBER_FREE_KEYS`, whose
    seed is not yet among it and which ran at least as many epochs, counts as one more
    seed of that variant, cut to the variant's epochs (training is deterministic epoch by
    epoch, so its first epochs are what the shorter run gives). Columns: :data:`SEED_COLUMNS`
    and ``run`` (the run's name).
    """
    members = [run for run in runs if run.params.get("sweep") == sweep and run.complete]
    variants: dict[str, dict] = {}
    for run in members:
        variants.setdefault(run.label, {"key": _variant_key(run), "epochs": run.params["epochs"], "runs": []})[
            "runs"
        ].append(run)
    rows = []
    for variant, spec in variants.items():
        seeds = {run.params["seed"] for run in spec["runs"]}
        for run in spec["runs"]:
            rows += _run_rows(run, variant, spec["epochs"])
        if not include_main:
            continue
        for run in runs:
            if (
                "sweep" not in run.params
                and run.complete
                and _variant_key(run) == spec["key"]
                and run.params["seed"] not in seeds
                and run.params["epochs"] >= spec["epochs"]
            ):
                seeds.add(run.params["seed"])
                rows += _run_rows(run, variant, spec["epochs"])
    return pd.DataFrame(rows, columns=[*SEED_COLUMNS, "train_rmse", "run"])


def seed_outcomes(frame: pd.DataFrame) -> pd.DataFrame:
    """Per variant and seed: best epoch (lowest validation mean RMSE, epochs >= 1), best and last RMSE, rise.

    ``rise`` = last epoch's RMSE minus the best (0 when the last epoch is the best).
    """
    trained = frame[frame["epoch"] > 0]
    rows = []
    for (variant, seed), run in trained.groupby(["variant", "seed"], sort=False):
        best = run.loc[run["rmse_mean"].idxmin()]
        last = run.loc[run["epoch"].idxmax()]
        rows.append(
            {
                "variant": variant,
                "method": best["method"],
                "shots": best["shots"],
                "seed": seed,
                "best_epoch": int(best["epoch"]),
                "best_rmse": best["rmse_mean"],
                "last_epoch": int(last["epoch"]),
                "last_rmse": last["rmse_mean"],
                "rise": last["rmse_mean"] - best["rmse_mean"],
            }
        )
    return pd.DataFrame(rows)


def seed_statistics(outcomes: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Intervals across seeds of each variant's best RMSE, spread, best epoch and rise, suited to a few seeds.

    Means carry Student-t intervals, SDs chi-square intervals and shares exact binomial
    (Clopper-Pearson) intervals, all two-sided at ``level``. One row per variant and quantity:
    estimate, low, high, the interval's kind and the number of seeds.
    """
    quantities: dict[str, tuple[str, str, Callable]] = {
        "best validation mean RMSE, mean over seeds": ("best_rmse", "t", t_interval),
        "best validation mean RMSE, SD across seeds": ("best_rmse", "chi-square", sd_interval),
        "best epoch, mean over seeds": ("best_epoch", "t", t_interval),
        "share of seeds with best epoch <= 2": (
            "best_epoch",
            "Clopper-Pearson",
            lambda v, lv: share_interval(int((v <= 2).sum()), len(v), lv),
        ),
        "rise from best to last epoch, mean": ("rise", "t", t_interval),
        "share of seeds whose last epoch is worse than the best": (
            "rise",
            "Clopper-Pearson",
            lambda v, lv: share_interval(int((v > 0).sum()), len(v), lv),
        ),
        "last-epoch validation mean RMSE, SD across seeds": ("last_rmse", "chi-square", sd_interval),
    }
    rows = []
    for variant, part in outcomes.groupby("variant", sort=False):
        for name, (column, kind, interval) in quantities.items():
            estimate, low, high = interval(part[column].to_numpy(dtype=float), level)
            rows.append(
                {
                    "variant": variant,
                    "quantity": name,
                    "estimate": estimate,
                    "low": low,
                    "high": high,
                    "interval": kind,
                    "seeds": len(part),
                }
            )
    return pd.DataFrame(rows)


def overfitting_verdict(part: pd.DataFrame, level: float = 0.95) -> str:
    """The verdict word of claim 1 on one variant's seed outcomes (the rule of :func:`overfitting_claim`)."""
    n, hits = len(part), int((part["best_epoch"] <= 2).sum())
    early = share_interval(hits, n, level, one_sided=True)
    rise = t_interval(part["rise"].to_numpy(), level)
    if early[1] > 0.5 and rise[1] > 0:
        return "supported"
    if early[2] < 0.5 or not (part["rise"] > 0).any():
        return "not supported"
    if hits == n and (part["rise"] > 0).all():
        return f"consistent with every seed, but {n} seeds are too few to bound the share above one half"
    if rise[1] > 0:
        return (
            "inconclusive: the rise after the best epoch is clear, but the share of early bests may be below one half"
        )
    return "inconclusive: the seeds disagree and are too few to tell"


def overfitting_claim(outcomes: pd.DataFrame, variant: str, level: float = 0.95) -> str:
    """The paper's claim 1 ("SPSA is best after about one or two epochs, then overfits") tested on one variant.

    Supported when the one-sided exact binomial lower bound of the share of seeds whose best
    epoch is 1 or 2 lies above one half and the t-interval of the mean rise from the best to
    the last epoch lies above zero. Not supported when the share's one-sided upper bound lies
    below one half or no seed rises. When every seed agrees with the claim but there are too
    few seeds for the bound, it says so; otherwise inconclusive, naming the unclear part.
    """
    part = outcomes[outcomes["variant"] == variant]
    if part.empty:
        raise ValueError(f"no seeds of variant {variant!r}; variants: {', '.join(outcomes['variant'].unique())}")
    last = int(part["last_epoch"].min())
    if last < 3:
        return f"**{variant}**: only {last} epoch(s) per seed; a best epoch at 1-2 followed by a rise needs at least 3."
    n, hits = len(part), int((part["best_epoch"] <= 2).sum())
    early = share_interval(hits, n, level, one_sided=True)
    rise = t_interval(part["rise"].to_numpy(), level)
    relative = rise[0] / part["best_rmse"].mean()
    verdict = overfitting_verdict(part, level)
    counts = part["best_epoch"].value_counts().sort_index()
    return (
        f"**{variant}** ({n} seeds, {last} epochs): best epochs "
        f"{', '.join(f'{int(e)} ({k} seed(s))' for e, k in counts.items())}; {hits} of {n} seeds best at epoch 1 or 2 "
        f"(one-sided {level:.0%} exact binomial bounds {early[1]:.2f} to {early[2]:.2f}); mean rise from the best "
        f"to the last epoch {_interval(*rise)} ({relative:.1%} of the mean best RMSE; {level:.0%} t-interval). "
        f"Claim 1 (best after about one or two epochs, then overfitting) is **{verdict}** for this variant."
    )


def stability_verdict(
    rise: tuple[float, float, float], ratio: tuple[float, float, float], n_fdsa: int, n_spsa: int
) -> str:
    """The verdict word of claim 2 from the rise difference and SD-ratio intervals (:func:`stability_claim`'s rule)."""
    below = [rise[2] < 0, ratio[2] < 1]
    above = [rise[1] > 0, ratio[1] > 1]
    if any(below) and not any(above):
        return "supported"
    if any(above) and not any(below):
        return "contradicted"
    if any(above):
        return "mixed (one measure favours FDSA, the other SPSA)"
    return f"not distinguishable from run-to-run variation with {n_fdsa} and {n_spsa} seeds"


def stability_claim(outcomes: pd.DataFrame, spsa: str, fdsa: str, level: float = 0.95) -> str:
    """The paper's claim 2 ("FDSA is more stable than SPSA") tested on two variants.

    Compares FDSA's and SPSA's mean rise from the best to the last epoch (Welch t-interval
    of the difference FDSA - SPSA) and the spread across seeds of the last epoch's RMSE (the
    F-interval of the SD ratio FDSA / SPSA). Supported when either says FDSA is more stable
    (difference below zero, ratio below one) and neither the opposite; contradicted in the
    mirror case; mixed when they disagree.
    """
    s, f = (outcomes[outcomes["variant"] == name] for name in (spsa, fdsa))
    if s.empty or f.empty:
        known = ", ".join(outcomes["variant"].unique())
        raise ValueError(f"variants {spsa!r} and {fdsa!r} both need seeds; variants: {known}")
    last = int(min(s["last_epoch"].min(), f["last_epoch"].min()))
    if last < 3:
        return (
            f"**{fdsa} against {spsa}**: only {last} epoch(s) per seed; stability after the best epoch needs at "
            f"least 3."
        )
    rise = welch_interval(f["rise"].to_numpy(), s["rise"].to_numpy(), level)
    ratio = sd_ratio_interval(f["last_rmse"].to_numpy(), s["last_rmse"].to_numpy(), level)
    verdict = stability_verdict(rise, ratio, len(f), len(s))
    ratio_text = "undefined" if np.isnan(ratio[0]) else _interval(*ratio, digits=2)
    return (
        f"**{fdsa} against {spsa}** ({len(f)} and {len(s)} seeds): difference FDSA - SPSA in the mean rise "
        f"from the best to the last epoch {_interval(*rise)} (Welch t-interval); ratio FDSA / SPSA of the SD across "
        f"seeds of the last epoch's RMSE {ratio_text} (F-interval). Claim 2 (FDSA is more stable than SPSA) is "
        f"**{verdict}** ({level:.0%} intervals; a negative difference or a ratio below 1 means FDSA is more stable)."
    )


def fit_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per variant: how closely training fits the training windows against how well it validates.

    The training RMSE of the last epoch, the best and the last validation mean RMSE, each
    as mean ± SD over seeds (``frame``: :func:`seed_table`); the gap is last validation minus
    last training RMSE. Columns: variant, method, seeds, epochs, and those numbers (``..., mean``, ``..., SD``).
    """
    rows = []
    for variant, part in frame[frame["epoch"] > 0].groupby("variant", sort=False):
        per_seed = part.groupby("seed")
        last = part.loc[per_seed["epoch"].idxmax()]
        values = {
            "last-epoch training RMSE": last["train_rmse"].to_numpy(dtype=float),
            "best validation RMSE": per_seed["rmse_mean"].min().to_numpy(dtype=float),
            "last-epoch validation RMSE": last["rmse_mean"].to_numpy(dtype=float),
            "gap (last validation - last training)": (last["rmse_mean"] - last["train_rmse"]).to_numpy(dtype=float),
        }
        row = {
            "variant": variant,
            "method": part["method"].iloc[0],
            "seeds": len(last),
            "epochs": int(part["epoch"].max()),
        }
        for name, v in values.items():
            row[f"{name}, mean"] = float(v.mean())
            row[f"{name}, SD"] = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def fit_text(table: pd.DataFrame) -> str:
    """Which variant fits the training windows most closely and which validates best, from :func:`fit_table`."""
    if table.empty:
        return "No complete seeds to compare."

    def number(row: pd.Series, name: str) -> str:
        sd = row[f"{name}, SD"]
        return f"{row[f'{name}, mean']:.4f}" + ("" if np.isnan(sd) else f" ± {sd:.4f}")

    closest = table.loc[table["last-epoch training RMSE, mean"].idxmin()]
    best = table.loc[table["best validation RMSE, mean"].idxmin()]
    train, valid = "last-epoch training RMSE", "best validation RMSE"
    if closest["variant"] == best["variant"]:
        return (
            f"**{best['variant']}** both fits the training windows most closely (training RMSE {number(best, train)}) "
            f"and validates best ({number(best, valid)}; mean ± SD over {int(best['seeds'])} seeds)."
        )
    return (
        f"**{closest['variant']}** fits the training windows most closely (training RMSE at epoch "
        f"{int(closest['epochs'])}: {number(closest, train)}, against {number(best, train)} for {best['variant']}), "
        f"yet **{best['variant']}** validates best (best validation RMSE {number(best, valid)} against "
        f"{number(closest, valid)}; mean ± SD over {int(best['seeds'])} and {int(closest['seeds'])} seeds). A closer "
        f"fit to the training windows with a worse validation is overfitting: the gap between the last epoch's "
        f"validation and training RMSE is {number(closest, 'gap (last validation - last training)')} for "
        f"{closest['variant']} against {number(best, 'gap (last validation - last training)')} for "
        f"{best['variant']}."
        + (
            " The exact gradient is the better optimizer of the training loss; the stochastic estimator's noisy, "
            "few-direction steps fit the training windows less closely, and that is what validates better here."
            if closest["method"] == "exact" and best["method"] != "exact"
            else ""
        )
    )


def seed_caption(profile: str, frame: pd.DataFrame, runs: list[StudyRun]) -> str:
    """The scale of a seed table in words: variants, seeds, epochs, sequences, validation steps, borrowed main runs."""
    by_name = {run.name: run for run in runs}
    parts, borrowed = [], []
    for variant, part in frame.groupby("variant", sort=False):
        seeds = sorted(part["seed"].unique())
        parts.append(f"{variant}: {len(seeds)} seeds ({', '.join(map(str, seeds))})")
        for name in part["run"].unique():
            if "sweep" not in by_name[name].params:
                borrowed.append(
                    f"{by_name[name].label} (seed {by_name[name].params['seed']}, "
                    f"{by_name[name].params['epochs']} epochs)"
                )
    first = by_name[frame["run"].iloc[0]]
    epochs, n_train = int(frame["epoch"].max()), int(frame["n_train"].iloc[0])
    val = first.params.get("val_length") or f"all {VALIDATION_STEPS}"
    text = (
        f"Profile `{profile}`: {'; '.join(parts)}; {epochs} epochs of {n_train} training sequences each, "
        f"validation on {val} steps, torch simulator (shots drawn from its exact distributions). "
        f"Machine: {study.machine(runs)}."
    )
    if borrowed:
        text += (
            f" The profile's main run{'s' if len(borrowed) > 1 else ''} {', '.join(borrowed)} count as one "
            f"seed each, "
            f"cut to {epochs} epochs: training is deterministic epoch by epoch, so these epochs are what a "
            f"{epochs}-epoch run gives."
        )
    return text


def stability_pairs(outcomes: pd.DataFrame) -> list[tuple[str, str]]:
    """The (SPSA variant, FDSA variant) pairs at equal shots that test the paper's claim 2, FDSA by FDSA."""
    kinds = outcomes.groupby("variant", sort=False)[["method", "shots"]].first()
    return [
        (spsa, fdsa)
        for fdsa, row in kinds[kinds["method"] == "fdsa"].iterrows()
        for spsa in kinds[(kinds["method"] == "spsa") & (kinds["shots"] == row["shots"])].index
    ]


def stability_text(outcomes: pd.DataFrame, runs: list[StudyRun], level: float = 0.95) -> str:
    """Claim 2 for every FDSA variant with an SPSA variant at the same shots, or why it cannot be tested here.

    Without such a pair, says so and gives the measured cost of the profile's FDSA runs (time
    per epoch of their sequences) as the reason.
    """
    texts = [stability_claim(outcomes, spsa, fdsa, level) for spsa, fdsa in stability_pairs(outcomes)]
    if texts:
        return "\n\n".join(texts)
    fdsa_runs = [run for run in runs if run.method == "fdsa" and run.complete]
    costs = [
        f"{run.label}: {run.epoch_records[0]['epoch_time_s']:.0f} s for an epoch of "
        f"{len(run.record.updates[run.record.updates['epoch'] == 1])} sequences"
        for run in fdsa_runs
        if run.epoch_records
    ]
    cost = f" Measured cost of this profile's FDSA runs: {'; '.join(costs)}." if costs else ""
    per_update = {
        method: run.record.updates["circuit_evaluations"].median()
        for run in runs
        if run.complete and len(run.record.updates)
        for method in [run.method]
    }
    ratio = (
        f" An FDSA update costs {per_update['fdsa']:.0f} sequence evaluations against SPSA's {per_update['spsa']:.0f}."
        if {"fdsa", "spsa"} <= set(per_update)
        else ""
    )
    return (
        f"**Claim 2 (FDSA is more stable than SPSA) is not tested in this profile**: its seeds sweep has no FDSA "
        f"variant beside an SPSA one at the same shots.{ratio} Several FDSA seeds over several full epochs do not "
        f"fit this profile's time budget; the `paper` profile runs them.{cost}"
    )


def compare_variants(outcomes: pd.DataFrame, a: str, b: str, level: float = 0.95) -> str:
    """Mean best validation RMSE of variant ``a`` minus ``b`` across seeds, with its Welch t-interval, in words."""
    x, y = (outcomes.loc[outcomes["variant"] == v, "best_rmse"].to_numpy() for v in (a, b))
    if not len(x) or not len(y):
        known = ", ".join(outcomes["variant"].unique())
        raise ValueError(f"variants {a!r} and {b!r} both need seeds; variants: {known}")
    diff = welch_interval(x, y, level)
    if diff[1] > 0:
        verdict = f"{b} is better"
    elif diff[2] < 0:
        verdict = f"{a} is better"
    else:
        verdict = "the difference is within run-to-run variation"
    return (
        f"Best validation mean RMSE, **{a}** minus **{b}**: {_interval(*diff)} ({level:.0%} Welch t-interval "
        f"over {len(x)} and {len(y)} seeds): {verdict}."
    )


def cost_accuracy(runs: list[StudyRun]) -> pd.DataFrame:
    """Validation mean RMSE after every epoch against what the training had consumed by then.

    One row per complete run and epoch (0 = untrained, nothing consumed): ``evaluations``,
    the cumulative sequence evaluations of the updates (one evaluation = one run of the
    ``seq_len``-step circuit; validation not counted), and ``shots_consumed`` =
    evaluations x seq_len x shots per step for shot-based runs (NaN for exact
    distributions). Also run, label, method, shots (0 = exact), seed and sweep.
    """
    rows = []
    for run in runs:
        if not run.complete:
            continue
        config = run.config
        base = {
            "run": run.name,
            "label": run.label,
            "method": config["method"],
            "shots": config["shots"] or 0,
            "seed": config["seed"],
            "sweep": run.params.get("sweep") or "",
        }
        evaluations = np.cumsum([0] + [e["circuit_evaluations"] for e in run.epoch_records])
        for row, used in zip(run.epochs.itertuples(), evaluations):
            shots = float(used * config["seq_len"] * config["shots"]) if config["shots"] else float("nan")
            rows.append(
                base
                | {
                    "epoch": int(row.epoch),
                    "evaluations": int(used),
                    "shots_consumed": shots,
                    "rmse_mean": row.val_rmse_mean,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "run",
            "label",
            "method",
            "shots",
            "seed",
            "sweep",
            "epoch",
            "evaluations",
            "shots_consumed",
            "rmse_mean",
        ],
    )


def cost_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per run of :func:`cost_accuracy` (its label and seed): epochs, what the whole run consumed, its best
    validation RMSE and when."""
    trained = table[table["epoch"] > 0]
    rows = []
    for _, part in trained.groupby("run", sort=False):
        best = part.loc[part["rmse_mean"].idxmin()]
        last = part.loc[part["epoch"].idxmax()]
        rows.append(
            {
                "run": part["label"].iloc[0],
                "seed": int(part["seed"].iloc[0]),
                "method": part["method"].iloc[0],
                "shots per step": last["shots"],
                "epochs": int(last["epoch"]),
                "sequence evaluations": int(last["evaluations"]),
                "shots consumed": last["shots_consumed"],
                "best validation mean RMSE": best["rmse_mean"],
                "best epoch": int(best["epoch"]),
                "evaluations to the best epoch": int(best["evaluations"]),
                "shots to the best epoch": best["shots_consumed"],
            }
        )
    return pd.DataFrame(rows)


def _dashed(method: str, shots: int) -> bool:
    """Whether a series is drawn dashed: exact distributions of a shot-based method (the exact gradient is solid)."""
    return not shots and method != "exact"


def seed_series(frame: pd.DataFrame) -> list[dict]:
    """What :func:`seed_figure` draws, one entry per variant: its legend label, method, seeds and line style."""
    series = []
    for variant in dict.fromkeys(frame["variant"]):
        part = frame[frame["variant"] == variant]
        method, seeds = part["method"].iloc[0], part["seed"].nunique()
        series.append(
            {
                "variant": variant,
                "label": f"{variant} ({seeds} seed{'' if seeds == 1 else 's'})",
                "method": method,
                "seeds": seeds,
                "dashed": _dashed(method, int(part["shots"].iloc[0])),
            }
        )
    return series


def seed_figure_caption(frame: pd.DataFrame) -> str:
    """Figure 1's caption, written from :func:`seed_series` (what the figure draws), so it cannot name a series
    the figure lacks or leave one out."""
    series = seed_series(frame)
    listed = "; ".join(f"{s['label']}{', dashed' if s['dashed'] else ''}" for s in series)
    dashed = " Dashed: exact distributions of a shot-based method." if any(s["dashed"] for s in series) else ""
    return (
        f"**Figure 1.** Left: validation mean RMSE of y and z per epoch of {len(series)} variant(s), every seed "
        f"(thin) and the mean over seeds (thick), measured: {listed}.{dashed} Right: the epoch at which each seed "
        "reached its lowest validation mean RMSE (validated once per epoch)."
    )


def seed_figure(frame: pd.DataFrame) -> Figure:
    """Left: validation mean RMSE per epoch, every seed (thin) and the mean over seeds (thick), one colour per
    method, dashed for exact distributions of a shot-based method. Right: how many seeds have their best epoch where.

    ``frame``: :func:`seed_table`.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.2), layout="constrained")
    series = seed_series(frame)
    width = 0.8 / max(len(series), 1)
    for k, entry in enumerate(series):
        variant = entry["variant"]
        part = frame[frame["variant"] == variant]
        style = "--" if entry["dashed"] else "-"
        color = method_color(entry["method"])
        for _, seed_rows in part.groupby("seed"):
            left.plot(seed_rows["epoch"], seed_rows["rmse_mean"], style, color=color, lw=0.7, alpha=0.45)
        mean = part.groupby("epoch")["rmse_mean"].mean()
        left.plot(mean.index, mean.values, style, color=color, lw=2.2, marker="o", label=entry["label"])
        trained = part[part["epoch"] > 0]
        best = trained.loc[trained.groupby("seed")["rmse_mean"].idxmin(), "epoch"].value_counts()
        epochs = np.arange(1, int(trained["epoch"].max()) + 1)
        right.bar(
            epochs + (k - (len(series) - 1) / 2) * width,
            best.reindex(epochs, fill_value=0).values,
            width,
            color=color,
            hatch=None if style == "-" else "//",
            edgecolor="white",
        )
    left.set(xlabel=EPOCH_AXIS, ylabel=f"validation mean {RMSE_AXIS}", xticks=np.arange(int(frame["epoch"].max()) + 1))
    right.set_xticks(np.arange(1, int(frame["epoch"].max()) + 1))
    left.set_ylim(*limits_of(frame["rmse_mean"].to_numpy()))
    right.set(xlabel="best epoch (lowest validation mean RMSE)", ylabel="seeds")
    right.yaxis.get_major_locator().set_params(integer=True)
    legend_outside(fig)
    return fig


def cost_accuracy_figure(table: pd.DataFrame) -> Figure:
    """Validation mean RMSE after each epoch against cumulative sequence evaluations (left) and shots consumed
    (right, shot-based runs only), one line per run, one colour per method; runs of a sweep thinner.

    ``table``: :func:`cost_accuracy`.
    """
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4), layout="constrained")
    trained = table[table["epoch"] > 0]
    labelled = set()
    for _, run in trained.groupby("run", sort=False):
        method, shots, sweep = run["method"].iloc[0], run["shots"].iloc[0], run["sweep"].iloc[0]
        key = f"{method_label(method)}, {f'{shots} shots' if shots else 'exact distributions'}"
        style = {
            "color": method_color(method),
            "ls": "-" if shots or method == "exact" else "--",
            "lw": 0.8 if sweep else 1.8,
            "alpha": 0.6 if sweep else 1.0,
            "marker": "." if sweep else "o",
        }
        label = None if key in labelled else key
        labelled.add(key)
        axes[0].plot(run["evaluations"], run["rmse_mean"], label=label, **style)
        if shots:
            axes[1].plot(run["shots_consumed"], run["rmse_mean"], **style)
    axes[0].set(xscale="log", xlabel="sequence evaluations consumed by training (log)")
    axes[1].set(xscale="log", xlabel="shots consumed by training (evaluations x steps x shots per step, log)")
    for ax in axes:
        ax.set_ylabel(f"validation mean {RMSE_AXIS}")
        if len(trained):
            ax.set_ylim(*limits_of(trained["rmse_mean"].to_numpy()))
    legend_outside(fig)
    return fig


def cost_accuracy_caption(table: pd.DataFrame) -> str:
    """Figure 2's caption, written from the runs :func:`cost_accuracy_figure` draws: its legend entries, whether
    any is dashed, and whether the right panel (shot-based runs) has a line."""
    trained = table[table["epoch"] > 0]
    keys, dashed, shot_runs = [], False, 0
    for _, run in trained.groupby("run", sort=False):
        method, shots = run["method"].iloc[0], run["shots"].iloc[0]
        key = f"{method_label(method)}, {f'{shots} shots' if shots else 'exact distributions'}"
        if key not in keys:
            keys.append(key)
        dashed |= _dashed(method, int(shots or 0))
        shot_runs += bool(shots)
    right = (
        f"right: against the shots consumed ({shot_runs} shot-based run(s))"
        if shot_runs
        else "right: empty, no shot-based run"
    )
    return (
        f"**Figure 2.** Validation mean RMSE after each epoch against the sequence evaluations consumed by training "
        f"up to then (left; {right}), measured; one line per run (thin: runs of a sweep), one colour per method: "
        f"{'; '.join(keys)}." + (" Dashed: exact distributions of a shot-based method." if dashed else "")
    )


# The columns of build/<profile>/data/shots_and_seeds/validation_checks.csv: every validation of the validation sweep.
CHECK_COLUMNS = [
    "variant",
    "method",
    "shots",
    "seed",
    "validate_every",
    "update",
    "epochs_done",
    "rmse_y",
    "rmse_z",
    "rmse_mean",
    "run",
]


def check_table(runs: list[StudyRun], sweep: str = "validation") -> pd.DataFrame:
    """Every validation of every complete run of ``sweep`` (runs with ``validate_every``), one row each.

    The untrained model (update 0), the validations inside epochs and those at each epoch's
    end; ``epochs_done`` is the update's position in epochs of updates (update / updates per
    epoch). Columns: :data:`CHECK_COLUMNS`.
    """
    rows = []
    for run in runs:
        if run.params.get("sweep") != sweep or not run.complete:
            continue
        per_epoch = int(run.record.updates["epoch"].eq(1).sum())
        first = {f"val_{key}": value for key, value in run.initial_validation.items()}
        points = [{"update": 0, **first}, *run.validation_checks]
        points += [{"update": record["epoch"] * per_epoch, **record} for record in run.epoch_records]
        config = run.config
        for point in sorted(points, key=lambda p: p["update"]):
            rows.append(
                {
                    "variant": run.label,
                    "method": config["method"],
                    "shots": config["shots"] or 0,
                    "seed": config["seed"],
                    "validate_every": config["validate_every"],
                    "update": int(point["update"]),
                    "epochs_done": point["update"] / per_epoch,
                    **{key: point[f"val_{key}"] for key in ("rmse_y", "rmse_z", "rmse_mean")},
                    "run": run.name,
                }
            )
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def check_outcomes(checks: pd.DataFrame) -> pd.DataFrame:
    """Per variant and seed: where the lowest validation mean RMSE falls among all validations (update, epochs of
    updates, RMSE) and among the epoch ends only (``best_epoch``), and the last validation's RMSE."""
    rows = []
    for (variant, seed), part in checks[checks["update"] > 0].groupby(["variant", "seed"], sort=False):
        best = part.loc[part["rmse_mean"].idxmin()]
        ends = part[part["epochs_done"] == part["epochs_done"].round()]
        rows.append(
            {
                "variant": variant,
                "method": best["method"],
                "shots": int(best["shots"]),
                "seed": seed,
                "best_update": int(best["update"]),
                "best_epochs_done": float(best["epochs_done"]),
                "best_rmse": float(best["rmse_mean"]),
                "best_epoch": int(ends.loc[ends["rmse_mean"].idxmin(), "epochs_done"]),
                "epochs": int(part["epochs_done"].max()),
                "validate_every": int(best["validate_every"]),
                "last_rmse": float(part["rmse_mean"].iloc[-1]),
            }
        )
    return pd.DataFrame(rows)


def check_claim(outcomes: pd.DataFrame, variant: str, level: float = 0.95) -> str:
    """Where one variant's best validation falls among its validations every few updates, in words (t-interval)."""
    part = outcomes[outcomes["variant"] == variant]
    if part.empty:
        raise ValueError(f"no runs of variant {variant!r}; variants: {', '.join(outcomes['variant'].unique())}")
    where = t_interval(part["best_epochs_done"].to_numpy(), level)
    early = int((part["best_epochs_done"] <= 2).sum())
    return (
        f"**{variant}** ({len(part)} seeds, {int(part['epochs'].min())} epochs, validated every "
        f"{int(part['validate_every'].iloc[0])} updates): "
        f"the lowest validation mean RMSE comes after {', '.join(f'{v:.2f}' for v in part['best_epochs_done'])} "
        f"epochs of updates (mean {_interval(*where, digits=2)}, {level:.0%} t-interval); {early} of {len(part)} "
        f"seeds within the first 2 epochs. Validated at epoch ends only, the same seeds' best epochs are "
        f"{', '.join(map(str, part['best_epoch']))}."
    )


def same_updates(runs: list[StudyRun], sweep: str = "validation") -> pd.DataFrame:
    """Each complete run of ``sweep`` against the complete runs of other sweeps or main runs with its configuration
    (epochs, cache and ``validate_every`` aside): the updates they share and the largest loss difference.

    Validating inside epochs must leave training unchanged; this is the check, on the runs themselves.
    """
    rows = []
    for run in runs:
        if run.params.get("sweep") != sweep or not run.complete:
            continue
        key = settings_key(run)
        for other in runs:
            if other.params.get("sweep") == sweep or not other.complete or settings_key(other) != key:
                continue
            mine, theirs = run.record.updates["loss"].to_numpy(), other.record.updates["loss"].to_numpy()
            shared = min(len(mine), len(theirs))
            rows.append(
                {
                    "run": run.name,
                    "same configuration": other.name,
                    "updates compared": shared,
                    "largest loss difference": float(np.max(np.abs(mine[:shared] - theirs[:shared]))),
                }
            )
    return pd.DataFrame(rows, columns=["run", "same configuration", "updates compared", "largest loss difference"])


def same_updates_text(table: pd.DataFrame, n_runs: int) -> str:
    """One sentence on :func:`same_updates`: how many runs had a counterpart and whether every update agreed."""
    if table.empty:
        return f"None of the {n_runs} runs has a counterpart without in-epoch validation in this profile."
    worst = table["largest loss difference"].max()
    agree = "made exactly the same updates" if worst == 0 else f"differ by up to {worst:.3g} in a loss"
    return (
        f"{table['run'].nunique()} of the {n_runs} runs have a counterpart with the same configuration and seed "
        f"among the main runs or other sweeps ({', '.join(table['same configuration'])}); over the "
        f"{int(table['updates compared'].sum())} updates they share, they {agree} (largest loss difference "
        f"{worst:.3g}): the extra validations leave training unchanged."
    )


def check_figure(checks: pd.DataFrame) -> Figure:
    """One panel per variant: validation mean RMSE at every validation against epochs of updates, one line per
    seed in the method's colour, each seed's lowest point marked; dotted lines at epoch ends.

    ``checks``: :func:`check_table`.
    """
    variants = list(dict.fromkeys(checks["variant"]))
    fig, axes = plt.subplots(1, len(variants), figsize=(13, 4.2), layout="constrained", sharey=True, squeeze=False)
    for ax, variant in zip(axes[0], variants, strict=True):
        part = checks[(checks["variant"] == variant) & (checks["update"] > 0)]
        color = method_color(part["method"].iloc[0])
        for _, seed_rows in part.groupby("seed"):
            ax.plot(seed_rows["epochs_done"], seed_rows["rmse_mean"], color=color, lw=1.0, alpha=0.8)
            best = seed_rows.loc[seed_rows["rmse_mean"].idxmin()]
            ax.plot(best["epochs_done"], best["rmse_mean"], "v", color="black", ms=6)
        for end in range(1, int(np.ceil(part["epochs_done"].max())) + 1):
            ax.axvline(end, color="0.7", ls=":", lw=0.8)
        ax.set(title=variant, xlabel="epochs of updates")
    axes[0][0].set_ylabel(f"validation mean {RMSE_AXIS}")
    trained = checks[checks["update"] > 0]
    axes[0][0].set_ylim(*limits_of(trained["rmse_mean"].to_numpy()))
    return fig


def check_figure_caption(checks: pd.DataFrame) -> str:
    """Figure 3's caption, written from what :func:`check_figure` draws (its panels and their seeds)."""
    panels = []
    for variant in dict.fromkeys(checks["variant"]):
        seeds = checks.loc[checks["variant"] == variant, "seed"].nunique()
        panels.append(f"{variant} ({seeds} seed{'' if seeds == 1 else 's'})")
    return (
        f"**Figure 3.** Validation mean RMSE every {int(checks['validate_every'].iloc[0])} updates and at each "
        f"epoch's end (dotted lines), one line per seed, measured; a black triangle marks each seed's lowest "
        f"point. Panels, left to right: "
        f"{'; '.join(panels)}."
    )


def load_checks(profile: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """Every validation of the validation sweep (:attr:`Outputs.checks`, :data:`CHECK_COLUMNS`), or ``None``."""
    return study.read_output(profile, CHAPTER, OUTPUTS.checks, root)


def load(profile: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """The per-seed validation RMSE (:attr:`Outputs.seeds`, :data:`SEED_COLUMNS` and ``run``), or ``None``."""
    return study.read_output(profile, CHAPTER, OUTPUTS.seeds, root)


def load_cost(profile: str, root: str | Path | None = None) -> pd.DataFrame | None:
    """Cost against accuracy per complete run (:attr:`Outputs.cost`, :func:`cost_summary`'s columns), or ``None``."""
    return study.read_output(profile, CHAPTER, OUTPUTS.cost, root)
