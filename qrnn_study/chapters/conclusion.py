"""The conclusion: the closing note, computed from the chapters' data through their loaders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..intervals import spread
from . import baselines, shots_and_seeds
from . import trajectories as trajectory_chapter
from .discussion import SEEDS, TRAJECTORIES, baseline_findings, claim_findings, missing

CHAPTER = "conclusion"


@dataclass(frozen=True)
class Outputs:
    """The conclusion writes no file."""

    pass


OUTPUTS = Outputs()


def conclusion_points(profile: str, root: str | Path | None = None, level: float = 0.95) -> list[str]:
    """The closing note: best classical model against the best QRNN, SPSA's spread across seeds and across
    trajectories, and whether the paper's two claims hold, each computed from the chapters' data."""
    seeds, trajectories = shots_and_seeds.load(profile, root), trajectory_chapter.load(profile, root)
    points = ["**The QRNN against classical models.** " + baseline_findings(baselines.load(profile, root))[0]]
    spsa_seeds = (
        ""
        if seeds is None
        else "; ".join(
            f"{variant}: {spread(part['best_rmse'], level)} seeds"
            for variant, part in shots_and_seeds.seed_outcomes(seeds).groupby("variant", sort=False)
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
