"""The closing pages' findings, stated in words from the data the chapters wrote.

Every sentence is computed from a chapter's CSV in ``build/<profile>/data/<chapter>/``
(seeds and cost from ``shots_and_seeds``, trajectories and baselines from their chapters,
the benchmark from ``runtime``) or from ``book/paper_reported.json``, so no number in the
discussion or the conclusion can go stale. A file a chapter did not write is reported as
missing, never replaced by a number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import analysis, bench_report, study, summary
from . import trajectories as trajectory_chapter

# The chapter data the closing pages read: (chapter, file).
SEEDS = ("shots_and_seeds", "seeds.csv")
COST = ("shots_and_seeds", "cost_accuracy.csv")
TRAJECTORIES = ("trajectories", "trajectories.csv")
TRAJECTORIES_VS_SEEDS = ("trajectories", "trajectories_vs_seeds.csv")
BASELINES = ("baselines", "baselines.csv")
BENCHMARK = ("runtime", summary.RUNTIME_JSON)


def data_path(profile: str, source: tuple[str, str], root: str | Path | None = None) -> Path:
    """Where a chapter's data file lives (``build/<profile>/data/<chapter>/<file>``); not created."""
    chapter, name = source
    return study.repo_root(root) / "build" / study.check_profile(profile) / "data" / chapter / name


def read(profile: str, source: tuple[str, str], root: str | Path | None = None) -> pd.DataFrame | None:
    """A chapter's CSV, or ``None`` when this build has not written it."""
    path = data_path(profile, source, root)
    return pd.read_csv(path) if path.is_file() else None


def missing(source: tuple[str, str]) -> str:
    """What the page says in place of a finding whose data is missing."""
    chapter, name = source
    return f"*Not available in this build: the `{chapter}` chapter wrote no `{name}`.*"


def paper_best(reported: dict) -> dict[str, float]:
    """The paper's best validation mean RMSE per method (SPSA, FDSA), from its reported per-epoch values."""
    return {
        method: float(study.reported_validation(reported, method)["val_rmse_mean"].min())
        for method in study.REPORTED_VALIDATION
    }


def spread(values: np.ndarray, level: float = 0.95) -> str:
    """``SD x [low, high]`` (chi-square interval over the values), range and count, in words."""
    values = np.asarray(values, dtype=float)
    sd = analysis.sd_interval(values, level)
    return f"SD {sd[0]:.4f} [{sd[1]:.4f}, {sd[2]:.4f}], range {values.min():.4f}-{values.max():.4f} over {len(values)}"


def seed_findings(seeds: pd.DataFrame | None, level: float = 0.95) -> list[str]:
    """Spread of the best validation RMSE across seeds per variant, then :func:`claim_findings`."""
    if seeds is None:
        return [missing(SEEDS)]
    outcomes = analysis.seed_outcomes(seeds)
    lines = [
        f"Across training seeds ({int(seeds['epoch'].max())} epochs of {int(seeds['n_train'].iloc[0])} sequences "
        f"each), the best validation mean RMSE varies as follows ({level:.0%} chi-square interval of the SD over "
        "seeds):"
    ]
    for variant, part in outcomes.groupby("variant", sort=False):
        lines.append(f"- **{variant}**: mean {part['best_rmse'].mean():.4f}, {spread(part['best_rmse'], level)} seeds.")
    return [*lines, "", *claim_findings(seeds, level)]


def claim_findings(seeds: pd.DataFrame | None, level: float = 0.95) -> list[str]:
    """The paper's claim 1 for every SPSA variant and claim 2 for every FDSA/SPSA pair at equal shots."""
    if seeds is None:
        return [missing(SEEDS)]
    outcomes = analysis.seed_outcomes(seeds)
    kinds = outcomes.groupby("variant", sort=False)[["method", "shots"]].first()
    spsa_like = kinds[kinds["method"].isin(["spsa", "spsa-fixed"])].index  # proper SPSA and SPSA as the paper ran it
    lines = [analysis.overfitting_claim(outcomes, variant, level) for variant in spsa_like]
    pairs = [
        (s, f)
        for f, row in kinds[kinds["method"] == "fdsa"].iterrows()
        for s in kinds[(kinds["method"] == "spsa") & (kinds["shots"] == row["shots"])].index
    ]
    if pairs:
        lines += [analysis.stability_claim(outcomes, s, f, level) for s, f in pairs]
    else:
        lines.append(
            "Claim 2 (FDSA is more stable than SPSA) is not tested in this profile: its seeds sweep has no "
            "FDSA variant (see the shots-and-seeds chapter for why); the `paper` profile tests it."
        )
    return lines


def trajectory_findings(
    trajectories: pd.DataFrame | None, comparison: pd.DataFrame | None, reported: dict
) -> list[str]:
    """The trajectories chapter's findings (:func:`qrnn_study.trajectories.findings`) from its CSVs.

    The spread of each QRNN's best RMSE across trajectories, where the paper's bests fall
    in it, and the spread across seeds beside it.
    """
    if trajectories is None:
        return [missing(TRAJECTORIES)]
    if comparison is None:
        return [missing(TRAJECTORIES_VS_SEEDS)]
    paper = {f"paper's {method.upper()} best": value for method, value in paper_best(reported).items()}
    return [trajectory_chapter.findings(trajectory_chapter.spread(trajectories, paper), comparison, paper)]


def _named(row: pd.Series) -> str:
    """A baselines row's model with its trained parameters (unless its name already states them)."""
    model = str(row["model"])
    return model if "parameters" in model else f"{model} ({int(row['parameters'])} parameters)"


def baseline_findings(baselines: pd.DataFrame | None) -> list[str]:
    """Best QRNN against the best classical model (mean, y and z RMSE, parameters): who wins, said plainly."""
    if baselines is None:
        return [missing(BASELINES)]
    table = baselines.dropna(subset=["rmse_mean"])
    qrnn, classical = (table[table["kind"] == kind] for kind in ("qrnn", "classical"))
    if qrnn.empty or classical.empty:
        return [
            f"The baselines table has {len(qrnn)} QRNN and {len(classical)} classical rows with a result: "
            "no comparison."
        ]
    q = qrnn.loc[qrnn["rmse_mean"].idxmin()]
    c = classical.loc[classical["rmse_mean"].idxmin()]
    verdict = "the QRNN **loses**" if c["rmse_mean"] < q["rmse_mean"] else "the QRNN **wins**"
    lines = [
        f"Best QRNN: {_named(q)}, validation mean RMSE {q['rmse_mean']:.4f} (y {q['rmse_y']:.4f}, z "
        f"{q['rmse_z']:.4f}). Best classical model: {_named(c)}, {c['rmse_mean']:.4f} (y {c['rmse_y']:.4f}, z "
        f"{c['rmse_z']:.4f}). "
        f"On the mean, {verdict} (ratio {q['rmse_mean'] / c['rmse_mean']:.2f})."
    ]
    for target in ("y", "z"):
        column = f"rmse_{target}"
        better = classical[classical[column] < q[column]]["model"].tolist()
        lines.append(
            f"On {target}: {len(better)} of {len(classical)} classical models beat the best QRNN"
            + (f" ({', '.join(map(str, better))})." if better else ".")
        )
    matched = classical[classical["parameters"] <= q["parameters"]]
    if not matched.empty:
        m = matched.loc[matched["rmse_mean"].idxmin()]
        word = "beats" if m["rmse_mean"] < q["rmse_mean"] else "does not beat"
        lines.append(
            f"With no more trained parameters than the QRNN ({int(q['parameters'])}), the best classical "
            f"model is {_named(m)}, {m['rmse_mean']:.4f}: it {word} the QRNN."
        )
    return lines


def cost_findings(cost: pd.DataFrame | None) -> list[str]:
    """Per method (main runs and seeds): the best validation RMSE reached and the evaluations and shots it took."""
    if cost is None:
        return [missing(COST)]
    lines = ["What training consumed to reach its best validation mean RMSE (lowest over the runs of each method):"]
    for _, part in cost.groupby(["method", "shots per step"], sort=False):
        best = part.loc[part["best validation mean RMSE"].idxmin()]
        shots = int(best["shots per step"])
        used = f"{int(best['evaluations to the best epoch']):,} sequence evaluations"
        if shots:
            used += f", {best['shots to the best epoch']:,.0f} shots"
        lines.append(
            f"- **{best['run']}** ({f'{shots} shots per step' if shots else 'exact distributions'}): "
            f"{best['best validation mean RMSE']:.4f} at epoch {int(best['best epoch'])}, after {used}."
        )
    return lines


def benchmark_findings(profile: str, root: str | Path | None = None) -> list[str]:
    """The benchmark's speed-up of each method's fastest path over the paper's execution, in words."""
    path = data_path(profile, BENCHMARK, root)
    if not path.is_file():
        return [missing(BENCHMARK)]
    rows = summary.speedup_rows(bench_report.load_benchmark(path))
    return [f"- {row['result']}: {row['this build']}." for row in rows]


def conclusion_points(profile: str, root: str | Path | None = None, level: float = 0.95) -> list[str]:
    """The closing note: best classical model against the best QRNN, SPSA's spread across seeds and across
    trajectories, and whether the paper's two claims hold, each computed from the chapters' data."""
    seeds, trajectories = read(profile, SEEDS, root), read(profile, TRAJECTORIES, root)
    points = ["**The QRNN against classical models.** " + baseline_findings(read(profile, BASELINES, root))[0]]
    spsa_seeds = (
        ""
        if seeds is None
        else "; ".join(
            f"{variant}: {spread(part['best_rmse'], level)} seeds"
            for variant, part in analysis.seed_outcomes(seeds).groupby("variant", sort=False)
            if part["method"].iloc[0] == "spsa"
        )
    )
    spsa_trajectories = (
        ""
        if trajectories is None
        else "; ".join(
            f"{model}: {spread(part['rmse_mean'].dropna(), level)} trajectories"
            for model, part in trajectories.groupby("model", sort=False)
            if "spsa" in str(model).lower() and part["rmse_mean"].notna().any()
        )
    )
    points.append("**SPSA's best validation mean RMSE across training seeds.** " + (spsa_seeds or missing(SEEDS)))
    points.append("**... and across Lorenz trajectories.** " + (spsa_trajectories or missing(TRAJECTORIES)))
    points.append("**The paper's two claims.** " + " ".join(claim_findings(seeds, level)))
    return points
