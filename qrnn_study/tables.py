"""Every table of the book: a tidy CSV for download and a readable HTML rendering.

:func:`show_table` writes the full table to ``build/<profile>/data/<chapter>/<name>.csv``
and displays it as HTML: human headers (with units), integers as integers, 3-4
significant digits, "—" for missing values, no empty rows, long tables shortened with the
full table in a collapsible block, and a link to the CSV. ``book.stage_book`` copies the
CSV files into the book, where the link resolves (``book/_static/tables.css`` styles
the tables so they fit the text column).
"""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from qrnn_core.checks import check_int
from qrnn_core.files import write_csv

from .study import chapter_data_dir

MISSING = "—"
# Where the built book serves chapter data, relative to the book's root (see book.stage_book).
BOOK_DATA_URL = "data"
SIGNIFICANT = 4
# Headers of column names used by several chapters; other names are turned into words by `header`.
HEADERS = {
    "median_s": "median (s)",
    "min_s": "min (s)",
    "max_s": "max (s)",
    "mean_s": "mean (s)",
    "total_s": "total (s)",
    "epoch_hours": "hours per epoch",
    "val_rmse_y": "validation RMSE, y",
    "val_rmse_z": "validation RMSE, z",
    "val_rmse_mean": "validation RMSE, mean",
    "rmse_y": "RMSE, y",
    "rmse_z": "RMSE, z",
    "rmse_mean": "RMSE, mean",
    "train_rmse": "training RMSE",
    "train_time_s": "training time (s)",
    "speedup_vs_seed_style": "speed-up over the paper's execution (×)",
    "measured_evaluations": "evaluations measured",
    "evaluations": "sequence evaluations per update",
    "lr": "learning rate",
    "spsa_samples": "SPSA samples",
}
UNIT_SUFFIXES = {"_s": "s", "_h": "h", "_min": "min", "_ms": "ms", "_pct": "%"}

Format = str | Callable[[object], str]


def header(column: object) -> str:
    """A human header for a column name: known names from ``HEADERS``, units from suffixes like ``_s``."""
    name = str(column)
    if name in HEADERS:
        return HEADERS[name]
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return f"{name.removesuffix(suffix).replace('_', ' ')} ({unit})"
    return name.replace("_", " ") if "_" in name and " " not in name else name


def is_missing(value: object) -> bool:
    """``None``, NaN, NA or an empty string."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_number(value: float, significant: int = SIGNIFICANT) -> str:
    """``value`` to ``significant`` digits, no trailing zeros; fixed notation from 0.001 to 1e6, else scientific."""
    if not math.isfinite(value):
        return MISSING if math.isnan(value) else ("∞" if value > 0 else "−∞")
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if -3 <= magnitude < 6:
        decimals = max(0, significant - 1 - magnitude)
        return _strip_zeros(f"{value:.{decimals}f}")
    mantissa, exponent = f"{value:.{significant - 1}e}".split("e")
    return f"{_strip_zeros(mantissa)}e{exponent}"


def _strip_zeros(text: str) -> str:
    """``0.007000`` -> ``0.007``, ``12.50`` -> ``12.5``, ``3.000`` -> ``3``."""
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: object, fmt: Format | None = None, integral: bool = False) -> str:
    """One cell as text: ``fmt`` (a format spec or a function) if given, else by type; '—' if missing."""
    if is_missing(value):
        return MISSING
    if fmt is not None:
        return fmt(value) if callable(fmt) else format(value, fmt)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return str(int(value)) if integral else format_number(float(value))
    return str(value)


def _integral(column: pd.Series) -> bool:
    """Whether every present value of a numeric column is a whole number (e.g. counts stored as floats)."""
    values = pd.to_numeric(column, errors="coerce").dropna()
    numeric = len(values) == column.notna().sum() and len(values) > 0
    return bool(
        numeric
        and pd.api.types.is_numeric_dtype(column)
        and (values == values.round()).all()
        and values.abs().max() < 1e15
    )


def tidy(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a meaningful index turned into columns and empty rows dropped."""
    has_index = isinstance(table.index, pd.MultiIndex) or table.index.name is not None
    if not has_index and not isinstance(table.index, pd.RangeIndex):
        has_index = not table.index.equals(pd.RangeIndex(len(table)))
    frame = table.reset_index() if has_index else table.reset_index(drop=True)
    if isinstance(frame.columns, pd.MultiIndex):
        frame.columns = [", ".join(str(part) for part in column if str(part)) for column in frame.columns]
    frame.columns = [str(column) for column in frame.columns]
    if frame.columns.duplicated().any():
        raise ValueError(f"table has duplicate column names: {list(frame.columns)}")
    values = frame.drop(columns=frame.columns[:1]) if has_index and frame.shape[1] > 1 else frame
    empty = values.apply(lambda column: column.map(is_missing)).all(axis=1)
    return frame[~empty].reset_index(drop=True)


def _html_rows(
    frame: pd.DataFrame, formats: Mapping[str, Format], headers: Mapping[str, str], links: Mapping[str, str]
) -> str:
    """``<table>`` of ``frame``; a column in ``links`` links each cell to the address in its paired column."""
    hrefs = frame[list(links.values())]
    frame = frame.drop(columns=list(links.values()))
    numeric = {
        column: pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])
        for column in frame.columns
    }
    integral = {column: _integral(frame[column]) for column in frame.columns}
    head = "".join(
        f'<th class="{"num" if numeric[c] else "text"}">{html.escape(headers.get(c, header(c)))}</th>'
        for c in frame.columns
    )
    body = []
    for i, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            text = html.escape(format_value(row[c], formats.get(c), integral[c]))
            if c in links and not is_missing(hrefs.at[i, links[c]]):
                text = f'<a href="{html.escape(str(hrefs.at[i, links[c]]))}">{text}</a>'
            cells.append(f'<td class="{"num" if numeric[c] else "text"}">{text}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="qrnn-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def render_table(
    table: pd.DataFrame,
    *,
    max_rows: int = 15,
    formats: Mapping[str, Format] | None = None,
    headers: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    shown: list[str] | None = None,
    csv_href: str | None = None,
    csv_label: str = "",
) -> str:
    """The HTML of a table: at most ``max_rows`` rows shown, the rest in a collapsible full table.

    ``links`` maps a shown column to a column of addresses (kept in the CSV, not shown);
    ``shown`` lists the columns a reader sees (default: all; the CSV always has every column).
    """
    check_int("max_rows", max_rows, 1)
    frame = tidy(table)
    formats = dict(formats or {})
    headers = dict(headers or {})
    links = dict(links or {})
    unknown = sorted(
        (set(formats) | set(headers) | set(links) | set(links.values()) | set(shown or [])) - set(frame.columns)
    )
    if unknown:
        raise ValueError(
            f"formats/headers/links/shown name unknown columns {unknown}; the table has {list(frame.columns)}"
        )
    if shown is not None:
        frame = frame[list(dict.fromkeys([*shown, *(href for column, href in links.items() if column in shown)]))]
        links = {column: href for column, href in links.items() if column in shown}
    parts = ['<div class="qrnn-table-wrap">']
    if len(frame) > max_rows:
        parts.append(_html_rows(frame.head(max_rows), formats, headers, links))
        parts.append(f'<p class="qrnn-table-note">The first {max_rows} of {len(frame)} rows.</p>')
        parts.append(
            f"<details><summary>All {len(frame)} rows</summary>{_html_rows(frame, formats, headers, links)}</details>"
        )
    else:
        parts.append(_html_rows(frame, formats, headers, links))
    if csv_href is not None:
        label = html.escape(csv_label or csv_href.rsplit("/", 1)[-1])
        parts.append(
            f'<p class="qrnn-table-note">Data: <a class="qrnn-csv" href="{html.escape(csv_href)}" download>'
            f"{label}</a> (CSV, full table)</p>"
        )
    parts.append("</div>")
    return "".join(parts)


def csv_path(profile: str, chapter: str, name: str, root: str | Path | None = None) -> Path:
    """Where a chapter's table ``name`` is written: ``build/<profile>/data/<chapter>/<name>.csv``.

    ``name`` may carry the ``.csv`` suffix (as a chapter's ``OUTPUTS`` field does).
    """
    name = name.removesuffix(".csv")
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"table name must be letters, digits, '_' and '-', got {name!r}")
    return chapter_data_dir(profile, chapter, root) / f"{name}.csv"


def book_csv_href(chapter: str, name: str) -> str:
    """The CSV's address relative to a chapter page of the built book (``generated/<chapter>.html``)."""
    name = name.removesuffix(".csv")
    return f"../{BOOK_DATA_URL}/{chapter}/{name}.csv"


def show_table(
    table: pd.DataFrame,
    name: str,
    *,
    profile: str,
    chapter: str,
    root: str | Path | None = None,
    caption: str = "",
    max_rows: int = 15,
    formats: Mapping[str, Format] | None = None,
    headers: Mapping[str, str] | None = None,
    links: Mapping[str, str] | None = None,
    shown: list[str] | None = None,
) -> None:
    """Write ``table`` (tidy, full) as CSV under the chapter's data folder and display it readably.

    ``formats`` maps column names to a format spec (``".2%"``) or a function; ``headers``
    maps column names to the headers shown (the CSV keeps the column names); ``links`` maps a
    column to the column of addresses its cells link to (not shown, kept in the CSV); ``shown``
    picks the columns displayed (the CSV keeps them all). The caption
    (Markdown) is displayed below the table. The CSV is at ``csv_path(profile, chapter, name, root)``;
    nothing is returned, so a notebook cell ending in this call shows no stray output.
    """
    from IPython.display import HTML, Markdown, display

    path = csv_path(profile, chapter, name, root)
    rendered = render_table(
        table,
        max_rows=max_rows,
        formats=formats,
        headers=headers,
        links=links,
        shown=shown,
        csv_href=book_csv_href(chapter, name),
        csv_label=f"{name.removesuffix('.csv')}.csv",
    )
    write_csv(path, tidy(table))
    display(HTML(rendered))
    if caption:
        display(Markdown(caption))
