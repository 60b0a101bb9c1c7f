"""The training-run page (``notebooks/train.ipynb``): one run per configuration, its folder read back as a StudyRun.

The run folder's files are named by :mod:`qrnn_core.training` (``result.json``, ``updates.csv``,
``predictions.npz``, checkpoints), which writes them; the page draws with the accuracy and
predictions chapters' figures and shows the setup chapter's cost table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qrnn_core.training import PREDICTIONS, RESULT, UPDATES, TrainConfig, load_run

from ..book import RUN_DOWNLOADS, run_file_href
from ..study import StudyRun, repo_root

CHAPTER = "train"


@dataclass(frozen=True)
class Outputs:
    """The files of a run folder, as :mod:`qrnn_core.training` names them."""

    result: str = RESULT
    updates: str = UPDATES
    predictions: str = PREDICTIONS


OUTPUTS = Outputs()


def load(out_dir: str | Path, config: TrainConfig, label: str, sweep: str | None = None) -> StudyRun:
    """The run folder ``out_dir`` (relative: to the repository root) read back as the study's :class:`StudyRun`."""
    out_dir = repo_root() / out_dir
    params = config.to_dict() | {"run_label": label, "sweep": sweep}
    return StudyRun(Path(out_dir).name, params, Path(out_dir), load_run(out_dir))


def file_links(run: StudyRun) -> str:
    """Markdown links to the run's downloadable files (those it wrote), as the built book serves them."""
    links = [f"[{name}]({run_file_href(run.name, name)})" for name in RUN_DOWNLOADS if (run.run_dir / name).is_file()]
    return f"Files of this run: {' · '.join(links)}." if links else "This run wrote no files."
