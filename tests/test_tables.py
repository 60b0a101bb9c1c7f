"""The book's table helper: tidy CSV files and readable HTML."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from qrnn_study import book, manifest, study, tables


def cells(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html)


def test_numbers_integers_and_missing_values_are_readable():
    table = pd.DataFrame(
        {
            "updates": [5.0, np.nan, 12.0],
            "median_s": [0.123456, 12345.678, 2.5e-7],
            "status": ["measured", None, "not run here (no CUDA device)"],
        }
    )
    html = tables.render_table(table)
    assert cells(html) == [
        "5",
        "0.1235",
        "measured",
        "—",
        "12346",
        "—",
        "12",
        "2.5e-07",
        "not run here (no CUDA device)",
    ]
    assert "<th" in html and "median (s)" in html and "nan" not in html.lower()


def test_numbers_drop_trailing_zeros():
    assert [tables.format_number(v) for v in (0.007, 0.25, 3.0, 1384.0, 0.1)] == ["0.007", "0.25", "3", "1384", "0.1"]


def test_empty_rows_are_dropped_and_a_named_index_becomes_a_column():
    table = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", ""]}, index=pd.Index(["r1", "r2"], name="run"))
    frame = tables.tidy(table)
    assert list(frame.columns) == ["run", "a", "b"] and list(frame["run"]) == ["r1"]


def test_long_tables_are_shortened_with_the_full_table_collapsed():
    table = pd.DataFrame({"step": range(40), "value": np.linspace(0, 1, 40)})
    html = tables.render_table(table, max_rows=10)
    shown, full = html.split("<details>")
    assert len(cells(shown)) == 20 and len(cells(full)) == 80
    assert "The first 10 of 40 rows" in shown and "All 40 rows" in full


def test_formats_and_headers_apply_and_unknown_columns_are_rejected():
    table = pd.DataFrame({"share": [0.256], "x": [1.5]})
    html = tables.render_table(table, formats={"share": ".0%"}, headers={"x": "x (scaled units)"})
    assert cells(html)[0] == "26%" and "x (scaled units)" in html
    linked = tables.render_table(pd.DataFrame({"page": ["Runtime"], "href": ["runtime.html"]}), links={"page": "href"})
    assert cells(linked) == ['<a href="runtime.html">Runtime</a>']
    narrow = tables.render_table(pd.DataFrame({"a": [1], "b": [2], "c": [3]}), shown=["c", "a"])
    assert cells(narrow) == ["3", "1"] and "<th" in narrow and ">b<" not in narrow
    with pytest.raises(ValueError, match="unknown columns \\['nope'\\]"):
        tables.render_table(table, formats={"nope": ".1f"})
    with pytest.raises(ValueError, match="max_rows"):
        tables.render_table(table, max_rows=0)


def test_show_table_writes_the_tidy_csv_and_links_it(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    table = pd.DataFrame({"count": [1.0, 2.0], "rmse": [0.1, np.nan]}, index=pd.Index(["a", "b"], name="run"))
    returned = tables.show_table(
        table, "best", profile="smoke", chapter="accuracy", root=tmp_path, caption="**Table 1.** x"
    )
    assert returned is None  # a cell ending in the call shows no stray output
    path = tables.csv_path("smoke", "accuracy", "best", tmp_path)
    assert path == tmp_path / "build" / "smoke" / "data" / "accuracy" / "best.csv"
    assert path == study.chapter_data_dir("smoke", "accuracy", tmp_path) / "best.csv"
    pd.testing.assert_frame_equal(
        pd.read_csv(path), pd.DataFrame({"run": ["a", "b"], "count": [1.0, 2.0], "rmse": [0.1, np.nan]})
    )
    assert 'href="../data/accuracy/best.csv"' in shown[0].data and shown[1].data == "**Table 1.** x"
    with pytest.raises(ValueError, match="table name"):
        tables.show_table(table, "../evil", profile="smoke", chapter="accuracy", root=tmp_path)
    with pytest.raises(ValueError, match="unknown profile"):
        tables.show_table(table, "best", profile="huge", chapter="accuracy", root=tmp_path)


def test_stage_book_serves_chapter_csvs(tmp_path):
    """The CSV files land where the built book serves them (html_extra_path: generated/_extra)."""
    for path in (study.REPO_ROOT / "configs" / "smoke").rglob("*.yaml"):
        target = tmp_path / path.relative_to(study.REPO_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    build = tmp_path / "build" / "smoke"
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Training run")])
    for kind, names in (
        ("chapters", study.chapter_names("smoke", tmp_path)),
        ("train", study.run_configs("smoke", tmp_path)),
    ):
        for name in names:
            (build / kind).mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, build / kind / f"{name}.ipynb")
    csv = study.chapter_data_dir("smoke", "accuracy", tmp_path) / "best.csv"
    csv.write_text("a\n1\n")
    for folder, kind, names in (
        ("data", "chapters", study.chapter_names("smoke", tmp_path)),
        ("runs", "train", study.run_configs("smoke", tmp_path)),
    ):
        for name in names:  # as the pipeline seals each finished task
            manifest.seal(f"build/smoke/{folder}/{name}", f"build/smoke/{kind}/{name}.ipynb", [], tmp_path)
    staged = book.stage_book("smoke", tmp_path)
    assert (staged / book.BOOK_EXTRA / "data" / "accuracy" / "best.csv").read_text() == "a\n1\n"
    assert "generated/" + book.BOOK_EXTRA in (study.REPO_ROOT / "book" / "_config.yml").read_text()
