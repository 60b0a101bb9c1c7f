"""The built smoke book in a real browser: headless Chromium, driven by Playwright, at 1280 px.

Every page: images load, no console errors, internal links resolve, no table cell reads
NaN, tables fit the text column; the front page shows the key-results table. Never
skipped: without Chromium the test fails and says how to install it (``make test`` installs
it as root; README, "The browser test").
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("QRNN_CHROMIUM", "/usr/bin/chromium")
INSTALL = (
    "as root: `apt-get install -y chromium` (or `make chromium`, which `make test` runs); without root, "
    "install Chromium elsewhere and set QRNN_CHROMIUM=/path/to/chromium"
)
SKIPPED_DIRS = {"_static", "_sources", "_images", "_sphinx_design_static", "data"}


@pytest.fixture(scope="module")
def html_root(smoke_tree) -> Path:
    return smoke_tree / "book" / "_build" / "html"


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


def test_every_page_renders_cleanly_at_1280px(html_root, server, browser):
    problems: dict[str, list[str]] = {}
    found = pages(html_root)
    assert "generated/summary.html" in found and "index.html" in found, found
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    # Resources from other hosts (MathJax from its CDN) may not load on an offline test machine: a failed
    # request counts only when it asks the book itself; other console errors always count.
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
    for name in found:
        redirect = re.search(r'http-equiv="refresh" content="\d+; *url=([^"]+)"', (html_root / name).read_text(), re.I)
        if redirect:  # e.g. index.html -> the root page; the front-page test follows it in the browser
            if not (html_root / name).parent.joinpath(redirect.group(1)).is_file():
                problems[name] = [f"redirects to {redirect.group(1)}, which does not exist"]
            continue
        errors.clear()
        page.goto(server + name, wait_until="load")
        page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(img => img.loading = 'eager')")
        page.wait_for_function("Array.from(document.images).every(img => img.complete)", timeout=15000)
        issues = [f"console error: {text}" for text in errors]
        issues += [
            f"image does not load: {src}"
            for src in page.evaluate(
                "Array.from(document.images).filter(img => img.naturalWidth === 0).map(img => img.src)"
            )
        ]
        hrefs = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
        issues += [f"broken link: {link}" for link in broken_links(html_root, server, page.url, hrefs)]
        cells = page.evaluate("Array.from(document.querySelectorAll('td, th')).map(cell => cell.innerText.trim())")
        issues += [f"table cell reads {cell!r}" for cell in cells if re.search(r"\bnan\b", cell, re.I)]
        issues += [
            f"table wider than the text column ({width} px > {room} px)"
            for width, room in page.evaluate(
                "Array.from(document.querySelectorAll('.qrnn-table-wrap'))"
                ".map(wrap => [wrap.scrollWidth, wrap.clientWidth]).filter(([w, c]) => w > c + 1)"
            )
        ]
        if issues:
            problems[name] = issues
    context.close()
    assert not problems, "\n".join(f"{name}: {issue}" for name, issues in problems.items() for issue in issues)


def test_front_page_shows_the_key_results(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server, wait_until="load")
    page.wait_for_url(re.compile(r"generated/summary\.html$"))
    table = page.locator("table.qrnn-table").first
    headers = table.locator("th").all_inner_texts()
    assert headers[:3] == ["result", "this build", "the paper"], headers
    rows = table.locator("tbody tr")
    assert rows.count() >= 5
    assert "speed-up" in rows.first.inner_text()
    assert page.locator("a.qrnn-csv").first.get_attribute("href") == "../data/summary/key_results.csv"
    assert page.locator("img").count() >= 1, "the headline gradient-quality figure"
    page.close()
