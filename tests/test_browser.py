"""The built smoke book in a real browser: headless Chromium, driven by Playwright, at 1280 px.

Every page: images load, no console errors, internal links resolve, no table cell reads
NaN, tables fit the text column; nothing is loaded from another host; MathJax (served with
the book) loads once and typesets every formula, and no raw LaTeX is left; no table cell's
text overflows it and no header wraps mid-word; the front page shows the key-results table.
A full-page screenshot of every page goes to build/<profile>/screenshots/<page>.png, for a
human to look at in review. Never skipped: without Chromium the test fails and says how to
install it (``make test`` installs it as root; README, "The browser test").

``QRNN_BROWSER_BOOK=paper`` (or quick, smoke) checks the book last built in this checkout by
``make book PROFILE=paper`` instead of building the smoke book in a copy of the tree.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from qrnn_core.files import atomic_write
from qrnn_study.style import LAYOUT_PROBLEM_CLASS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("QRNN_CHROMIUM", "/usr/bin/chromium")
INSTALL = (
    "as root: `apt-get install -y chromium` (or `make chromium`, which `make test` runs); without root, "
    "install Chromium elsewhere and set QRNN_CHROMIUM=/path/to/chromium"
)
SKIPPED_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "data", "mathjax"}
ROOT = Path(__file__).resolve().parents[1]
# QRNN_BROWSER_BOOK=<profile>: check the book that `make book PROFILE=<profile>` last built in this checkout.
BUILT_PROFILE = os.environ.get("QRNN_BROWSER_BOOK")
PROFILE = BUILT_PROFILE or "smoke"


@pytest.fixture(scope="module")
def html_root(request) -> Path:
    """The smoke book, built in a copy of the tree; or, with QRNN_BROWSER_BOOK, the checkout's own built book."""
    if BUILT_PROFILE is None:
        return request.getfixturevalue("smoke_tree") / "book" / "_build" / "html"
    built = ROOT / "book" / "_build" / "html"
    if not (built / "index.html").is_file():
        pytest.fail(f"no built book at {built}: run `make book PROFILE={PROFILE}` first", pytrace=False)
    return built


@pytest.fixture(scope="module")
def server(html_root) -> Iterator[str]:
    """The built book served over HTTP on a free local port."""
    handler = functools.partial(QuietHandler, directory=str(html_root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install it {INSTALL}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: run `make setup`", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def pages(html_root: Path) -> list[str]:
    """Every page of the book, relative to its root."""
    return sorted(
        str(path.relative_to(html_root))
        for path in html_root.rglob("*.html")
        if not SKIPPED_DIRS & set(path.relative_to(html_root).parts[:-1])
    )


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\sid="([^"]+)"', path.read_text()))


def broken_links(html_root: Path, base: str, page_url: str, hrefs: list[str]) -> list[str]:
    """Internal links whose file, or whose anchor in that file, does not exist."""
    broken = []
    for href in hrefs:
        parts = urlsplit(href)
        if not href.startswith(base) or parts.scheme not in ("http", "https"):
            continue  # external, mailto:, javascript:
        target = html_root / unquote(parts.path[len(urlsplit(base).path) :])
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no such file)")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in anchors(target):
            broken.append(f"{href} (no anchor #{parts.fragment})")
    return broken


# Text outside code that still reads as LaTeX once MathJax has typeset the page: math delimiters, or a backslash
# command (\frac, \sigma, \mathrm, ...). Code blocks, MathJax's own output and hidden elements are left out.
RAW_LATEX = r"""() => {
  const root = document.querySelector("main") || document.body;
  const skip = "pre, code, kbd, script, style, textarea, mjx-container, .highlight, [hidden]";
  const latex = /\\[()[\]]|\$\$|\\begin\{|\\[a-zA-Z]{2,}(?![a-zA-Z])/;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const match = node.textContent.match(latex);
    if (!match || node.parentElement.closest(skip) || !node.parentElement.getClientRects().length) continue;
    found.push(node.textContent.slice(Math.max(0, match.index - 30), match.index + 40).replace(/\s+/g, " ").trim());
  }
  return found;
}"""

# Math nodes Sphinx wrote (\\(...\\) or \\[...\\] in span.math / div.math) that MathJax did not typeset, or typeset
# as an error (an undefined macro, unbalanced braces).
UNTYPESET = r"""() => [
  ...Array.from(document.querySelectorAll(".math")).filter(node => !node.querySelector("mjx-container"))
    .map(node => `not typeset: ${node.textContent.trim().slice(0, 60)}`),
  ...Array.from(document.querySelectorAll("mjx-merror"))
    .map(node => `MathJax error: ${node.getAttribute("data-mjx-error") || node.textContent.slice(0, 60)}`),
]"""

# Table cells whose content is wider than the cell (it spills out or is clipped), as "table N: text".
OVERFLOWING_CELLS = r"""() => {
  const tables = Array.from(document.querySelectorAll("main table"));
  return tables.flatMap((table, index) => Array.from(table.querySelectorAll("td, th"))
    .filter(cell => cell.scrollWidth > cell.clientWidth + 1)
    .map(cell => `table ${index + 1}: ${cell.innerText.trim().slice(0, 60)} `
      + `(${cell.scrollWidth} > ${cell.clientWidth} px)`));
}"""

# Header words the browser broke across lines. A word runs between spaces, hyphens, slashes and underscores (where
# a reader expects a line to break); one whose text lies on more than one line was wrapped mid-word.
SPLIT_HEADER_WORDS = r"""() => {
  const tables = Array.from(document.querySelectorAll("main table"));
  return tables.flatMap((table, index) => Array.from(table.querySelectorAll("th")).flatMap(header => {
    const split = [];
    const walker = document.createTreeWalker(header, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.textContent.matchAll(/[^\s\-\/_\u2013\u2014]+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set(Array.from(range.getClientRects()).filter(box => box.width > 0)
          .map(box => Math.round(box.top)));
        const text = header.innerText.trim().replace(/\s+/g, " ");
        if (lines.size > 1) split.push(`table ${index + 1}: "${word[0]}" in "${text}"`);
      }
    }
    return split;
  }));
}"""

# A MathJax bundle: a script straight under mathjax/ (its components and fonts, loaded by the bundle, lie deeper).
MATHJAX_BUNDLE = re.compile(r"/mathjax/[^/?]+\.js(\?|$)")


@dataclass
class Visit:
    """What one page showed in the browser, one list per check (empty lists: nothing wrong)."""

    problems: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    maths: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    screenshot: Path | None = None


@pytest.fixture(scope="module")
def visits(html_root, server, browser) -> dict[str, Visit]:
    """Every page of the book visited once at 1280 px, each check's findings recorded, a screenshot taken."""
    found = pages(html_root)
    assert "generated/summary.html" in found and "index.html" in found, found
    screenshots = ROOT / "build" / PROFILE / "screenshots"
    shutil.rmtree(screenshots, ignore_errors=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    # Other hosts are never asked (test_nothing_is_loaded_from_another_host); a failed request counts here
    # only when it asks the book itself (the browser's own favicon.ico request is not the book's); other
    # console errors always count.
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "requestfailed",
        lambda request: errors.append(f"failed to load {request.url}") if request.url.startswith(server) else None,
    )
    page.on(
        "response",
        lambda response: (
            errors.append(f"HTTP {response.status} for {response.url}")
            if response.status >= 400 and response.url.startswith(server)
            else None
        ),
    )
    visited: dict[str, Visit] = {}
    for name in found:
        visit = visited[name] = Visit()
        redirect = re.search(r'http-equiv="refresh" content="\d+; *url=([^"]+)"', (html_root / name).read_text(), re.I)
        if redirect:  # e.g. index.html -> the root page; the front-page test follows it in the browser
            if not (html_root / name).parent.joinpath(redirect.group(1)).is_file():
                visit.problems.append(f"redirects to {redirect.group(1)}, which does not exist")
            continue
        errors.clear()
        requests.clear()
        page.goto(server + name, wait_until="load")
        page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(img => img.loading = 'eager')")
        page.wait_for_function("Array.from(document.images).every(img => img.complete)", timeout=15000)
        typeset = page.evaluate(
            "() => window.MathJax && MathJax.startup ? MathJax.startup.promise.then(() => true) : false"
        )
        visit.problems += [f"console error: {text}" for text in errors]
        visit.problems += [
            f"image does not load: {src}"
            for src in page.evaluate(
                "Array.from(document.images).filter(img => img.naturalWidth === 0).map(img => img.src)"
            )
        ]
        hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        visit.problems += [f"broken link: {link}" for link in broken_links(html_root, server, page.url, hrefs)]
        cells = page.evaluate("Array.from(document.querySelectorAll('td, th')).map(cell => cell.innerText.trim())")
        visit.problems += [f"table cell reads {cell!r}" for cell in cells if re.search(r"\bnan\b", cell, re.I)]
        visit.problems += [
            f"table wider than the text column ({width} px > {room} px)"
            for width, room in page.evaluate(
                "Array.from(document.querySelectorAll('.qrnn-table-wrap'))"
                ".map(wrap => [wrap.scrollWidth, wrap.clientWidth]).filter(([w, c]) => w > c + 1)"
            )
        ]
        visit.external = [url for url in requests if not is_local(url, server)]
        bundles = [url for url in requests if MATHJAX_BUNDLE.search(url)]
        if len(bundles) > 1:
            visit.maths.append(f"MathJax loaded {len(bundles)} times: {bundles}")
        if page.locator(".math").count() and not typeset:
            visit.maths.append("the page has maths but MathJax did not start")
        visit.maths += page.evaluate(UNTYPESET)
        visit.maths += [f"raw LaTeX: {text!r}" for text in page.evaluate(RAW_LATEX)]
        visit.cells = [f"cell overflows: {text}" for text in page.evaluate(OVERFLOWING_CELLS)]
        visit.cells += [f"header wraps mid-word: {text}" for text in page.evaluate(SPLIT_HEADER_WORDS)]
        visit.figures = page.evaluate(
            f"Array.from(document.querySelectorAll('.{LAYOUT_PROBLEM_CLASS}')).map(p => p.innerText.trim())"
        )
        shot = screenshots / Path(name).with_suffix(".png")
        visit.screenshot = atomic_write(shot, lambda tmp: page.screenshot(path=tmp, type="png", full_page=True))
    context.close()
    return visited


def is_local(url: str, server: str) -> bool:
    """Whether the browser gets ``url`` from the book's own server or from the page itself (data:, blob:)."""
    return url.startswith(server) or urlsplit(url).scheme in ("data", "blob", "about")


def report(visits: dict[str, Visit], check: str) -> str:
    return "\n".join(f"{name}: {issue}" for name, visit in visits.items() for issue in getattr(visit, check))


def test_every_page_renders_cleanly_at_1280px(visits):
    assert not report(visits, "problems"), report(visits, "problems")


def test_nothing_is_loaded_from_another_host(visits):
    """An offline reader, or an archived copy, sees the whole book: no CDN, no web font, no tracker."""
    assert not report(visits, "external"), report(visits, "external")


def test_maths_is_typeset_offline_by_one_mathjax(visits):
    """MathJax (served with the book) loads once per page and typesets every formula; no raw LaTeX is left."""
    assert not report(visits, "maths"), report(visits, "maths")


def test_table_cells_hold_their_text(visits):
    """No cell's text overflows it; no header word is wrapped mid-word (as in "mod el", "QRN N")."""
    assert not report(visits, "cells"), report(visits, "cells")


def test_figures_pass_their_layout_check(visits):
    """No figure has overlapping labels or a legend over its data (qrnn_study.style.layout_problems, drawn at
    build time; a failing figure carries a warning on its page)."""
    assert not report(visits, "figures"), report(visits, "figures")


def test_every_page_has_a_screenshot(visits):
    for name, visit in visits.items():
        if visit.screenshot is not None:
            assert visit.screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert sum(visit.screenshot is not None for visit in visits.values()) >= len(visits) - 1, "only redirects lack one"


def test_front_page_shows_the_key_results(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server, wait_until="load")
    page.wait_for_url(re.compile(r"generated/summary\.html$"))
    table = page.locator("table.qrnn-table").first
    headers = table.locator("th").all_inner_texts()
    assert headers[:3] == ["result", "this build", "the paper"], headers
    rows = table.locator("tbody tr")
    assert rows.count() >= 5
    assert "one FDSA update / one SPSA update" in rows.first.inner_text(), "the paper's central claim comes first"
    assert "our simulator against the authors' execution style" in table.inner_text()
    assert page.locator("a.qrnn-csv").first.get_attribute("href") == "../data/summary/key_results.csv"
    assert page.locator("img").count() >= 1, "the headline gradient-quality figure"
    page.close()
