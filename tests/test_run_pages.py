"""Run pages and the runs appendix: every run listed with a link, its files linked for download."""

from __future__ import annotations

from pathlib import Path

import pytest

from qrnn_study import book, study
from qrnn_study.chapters import train


def test_run_files_are_linked_where_the_book_serves_them(tmp_path):
    assert book.run_file_href("spsa-cpu", "updates.csv") == "../../runs/spsa-cpu/updates.csv"
    with pytest.raises(ValueError, match="allowed: result.json, updates.csv"):
        book.run_file_href("spsa-cpu", "predictions.npz")
    run = study.StudyRun("spsa-cpu", {"method": "spsa"}, tmp_path, None)
    assert train.file_links(run) == "This run wrote no files."
    (tmp_path / "result.json").write_text("{}")
    assert train.file_links(run) == "Files of this run: [result.json](../../runs/spsa-cpu/result.json)."


def test_the_appendix_lists_every_configured_run_with_a_link():
    runs = study.load_profile("smoke", study.REPO_ROOT)
    index = book.runs_index(runs)
    for run in runs:
        assert f"{{doc}}`{run.label} </generated/train/{run.name}>`" in index
    assert index.count("\n") == len(runs) + 2
    assert "generated/runs_index.md" in (Path(study.REPO_ROOT) / "book" / "appendix_runs.md").read_text()
