"""End to end: `make book PROFILE=smoke` runs every notebook with papermill and builds the book.

The build runs in a copy of the working tree (tests/conftest.py, shared with the browser and
notebook tests), so it never touches the checkout's own build/ or book/ folders.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import make

from qrnn_core.backends import cuda_available
from qrnn_study import study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tree(smoke_tree) -> Path:
    """The smoke book, built once per session (tests/conftest.py)."""
    return smoke_tree


def page(tree: Path, name: str) -> str:
    return (tree / "book" / "_build" / "html" / name).read_text()


def images(tree: Path, name: str) -> list[Path]:
    html_dir = (tree / "book" / "_build" / "html" / name).parent
    return [html_dir / src for src in re.findall(r'<img[^>]*src="([^"]+\.png)"', page(tree, name))]


def test_every_configured_run_has_a_result(tree):
    for run in study.load_profile("smoke", tree):
        expected = "complete" if run.params["device"] == "cpu" or cuda_available() else "skipped"
        assert run.status == expected, run.name
        assert (tree / "book" / "_build" / "html" / "generated" / "train" / f"{run.name}.html").is_file()


@pytest.mark.parametrize(
    "name",
    ["generated/runtime.html", "generated/accuracy.html", "generated/predictions.html", "generated/methods.html"],
)
def test_figures_are_images_that_exist(tree, name):
    found = images(tree, name)
    assert found and all(path.is_file() for path in found), found


def test_tables_captions_and_notes(tree):
    runtime = page(tree, "generated/runtime.html")
    assert re.search(r"<table.*?Table 1", runtime, re.S), "the paper's Table 1, rebuilt by the runtime chapter"
    setup = page(tree, "generated/setup.html")
    assert re.search(r"<table.*?mean time per update, s \(measured\)", setup, re.S), (
        "runtime table of the training runs"
    )
    accuracy = page(tree, "generated/accuracy.html")
    assert "Profile <code" in accuracy and "reported by the paper" in accuracy
    if not cuda_available():
        assert "not run here (no CUDA device)" in accuracy
    notes = page(tree, "generated/reproduction_notes.html")
    assert "Table 1 swaps the two FDSA rows" in notes and "parameter_binds" in notes
    assert (
        "benchmarking optimization methods for quantum recurrent neural networks"
        in page(tree, "references.html").lower()
    )


def test_unchanged_runs_are_not_rerun(tree):
    assert make(tree, "-q", "runs").returncode == 0, "make -q runs: everything should be up to date"


def test_a_failing_notebook_stops_the_build(tree):
    bad = tree / "configs" / "smoke" / "train" / "zz-bad.yaml"
    bad.write_text("run_label: bad\nmethod: spsa\ndevice: cpu\nepochs: -1\n")
    try:
        done = make(tree, "runs")
    finally:
        bad.unlink()
    assert done.returncode != 0
    assert "epochs must be an integer >= 0, got -1" in done.stderr
    assert not (tree / "build" / "smoke" / "train" / "zz-bad.ipynb").exists()
    assert not (tree / "build" / "smoke" / "runs" / "zz-bad" / "result.json").exists()


def test_every_table_links_its_csv_and_the_front_page_has_the_key_results(tree):
    html = tree / "book" / "_build" / "html"
    linked = 0
    for path in (html / "generated").glob("*.html"):
        for href in re.findall(r'class="qrnn-csv" href="([^"]+)"', path.read_text()):
            served = (path.parent / href).resolve()
            chapter, name = served.parent.name, served.name
            assert served.is_file(), f"{path.name} links {href}, which the book does not serve"
            assert served.read_bytes() == (tree / "build" / "smoke" / "data" / chapter / name).read_bytes()
            linked += 1
    assert linked >= 10
    front = page(tree, "generated/summary.html")
    key_results = (
        r'<table class="qrnn-table">.*?cost of one FDSA update / one SPSA update.*?one SPSA update: our simulator'
    )
    assert re.search(key_results, front, re.S), "the cost ratio first, then the speed-ups labelled for what they are"
    assert "data/summary/key_results.csv" in front and "NaN" not in front
    assert re.search(r'http-equiv="refresh" content="0; url=generated/summary.html"', page(tree, "index.html"), re.I)


def test_no_page_shows_a_stray_python_repr(tree):
    html = tree / "book" / "_build" / "html"
    pages = [path for path in html.rglob("*.html") if "_sources" not in path.parts]
    stray = [
        str(path.relative_to(html))
        for path in pages
        if re.search(r"PosixPath\(|&lt;Figure size|<Axes", path.read_text())
    ]
    assert not stray, f"pages showing a Python repr instead of content: {stray}"
