"""The conclusion: the closing note, computed from the chapters' data through their loaders."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import study
from ..intervals import spread
from . import shots_and_seeds, summary
from . import trajectories as trajectory_chapter
from .discussion import SEEDS, TRAJECTORIES, missing

CHAPTER = "conclusion"


@dataclass(frozen=True)
class Outputs:
    """The conclusion writes no file."""

    pass


OUTPUTS = Outputs()


def conclusion_points(profile: str, root: str | Path | None = None, level: float = 0.95) -> list[str]:
    """The closing note: the QRNN against classical models, SPSA's spread across seeds and across trajectories,
    and the front page's verdict on each of the paper's claims (:func:`qrnn_study.chapters.summary.verdicts`)."""
    seeds, trajectories = shots_and_seeds.load(profile, root), trajectory_chapter.load(profile, root)
    verdicts = {verdict.claim: verdict for verdict in summary.verdicts(profile, root, level)}
    baseline = next(v for claim, v in verdicts.items() if claim.startswith("the QRNN against"))
    points = [f"**The QRNN against classical models: {baseline.verdict}.** {baseline.evidence}"]
    spsa_seeds = (
        ""
        if seeds is None
        else "; ".join(
            f"{variant}: {study.mean_sd(part['best_rmse'])}; {spread(part['best_rmse'], level)} seeds"
            for variant, part in shots_and_seeds.seed_outcomes(seeds).groupby("variant", sort=False)
            if part["method"].iloc[0] == "spsa"
        )
    )
    spsa_trajectories = (
        ""
        if trajectories is None
        else "; ".join(
            f"{model}: {study.mean_sd(part['rmse_mean'].dropna(), unit='trajectories')}; "
            f"{spread(part['rmse_mean'].dropna(), level)} trajectories"
            for model, part in trajectories.groupby("model", sort=False)
            if "spsa" in str(model).lower() and part["rmse_mean"].notna().any()
        )
    )
    points.append(f"**SPSA's {study.BEST_RMSE} across training seeds.** " + (spsa_seeds or missing(SEEDS)))
    points.append("**... and across Lorenz trajectories.** " + (spsa_trajectories or missing(TRAJECTORIES)))
    points += [
        f"**{claim[0].upper()}{claim[1:]}: {verdict.verdict}.** {verdict.evidence}"
        for claim, verdict in verdicts.items()
        if verdict is not baseline
    ]
    return points
