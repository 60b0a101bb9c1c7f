"""Sphinx extension: load each script of a page once.

sphinx-thebe (pulled in by Jupyter Book 1.x) registers its configuration script on every
``env-before-read-docs`` event; when Sphinx reads the sources more than once per build the
page declares ``const THEBE_JS_URL`` twice, which the browser reports as an error.
"""

from __future__ import annotations


def unique_scripts(app, pagename, templatename, context, doctree) -> None:
    """Drop repeated entries (same file, or same inline body, and attributes) from the page's script list."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (str(getattr(script, "filename", script) or ""), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app) -> dict:
    app.connect("html-page-context", unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
