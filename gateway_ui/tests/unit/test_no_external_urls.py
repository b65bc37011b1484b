"""The page must work offline: no file of it refers to anything outside this service.

Every reference a browser would fetch or follow (`src`, `href`, CSS `url()` and `@import`, a
JavaScript `import`) must be a path on this server. The one allowed exception is the mail
catcher link, whose address comes from configuration. The scanner is tested on known-bad
snippets too, so a regex that silently stops matching cannot make the test pass.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway_ui.pages import STATIC_DIR, TEMPLATES_DIR

PAGE_FILES = sorted(TEMPLATES_DIR.glob("*.html")) + sorted(STATIC_DIR.iterdir())
CONFIGURED_LINKS = {"{{ settings.mail_ui_url }}"}

ATTRIBUTE = r"""(?<![\w-])(?:src|href|srcset|action|formaction|poster)\s*=\s*"""
MARKUP = [
    re.compile(ATTRIBUTE + r"""["']([^"']*)["']""", re.I),
    re.compile(ATTRIBUTE + r"""([^\s"'>]+)""", re.I),
]
STYLES = [
    re.compile(r"""url\(\s*["']?([^"')]*)""", re.I),
    re.compile(r"""@import\s+["']([^"']+)""", re.I),
]
SCRIPTS = [
    re.compile(r"""(?<![\w.])import\s*(?:\(\s*|[\w*{},\s]+?\s+from\s*|)["']([^"']+)["']"""),
    re.compile(r"""\bimportScripts\(\s*["']([^"']+)"""),
]
# HTML may hold styles and scripts too; a stylesheet or a script holds nothing else.
REFERENCES = {
    ".html": MARKUP + STYLES + SCRIPTS,
    ".svg": MARKUP + STYLES,
    ".css": STYLES,
    ".js": SCRIPTS,
}
# A namespace name in SVG looks like a URL but is never fetched.
NOT_FETCHED = re.compile(r"""xmlns(?::\w+)?=["'][^"']*["']""")
ANY_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?//[^\s\"'<>)]+", re.I)


def references(text: str, kind: str) -> list[str]:
    return [match for pattern in REFERENCES[kind] for match in pattern.findall(text)]


def is_local(reference: str) -> bool:
    return (reference.startswith("/") and not reference.startswith("//")) or reference.startswith(
        "#"
    )


def external(text: str, kind: str) -> list[str]:
    found = [
        ref for ref in references(text, kind) if not is_local(ref) and ref not in CONFIGURED_LINKS
    ]
    # Belt and braces: an absolute URL anywhere else (say, a string fetched by the script).
    found += ANY_URL.findall(NOT_FETCHED.sub("", text))
    return found


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda path: path.name)
def test_no_page_file_refers_to_anything_outside_the_service(path: Path) -> None:
    assert external(path.read_text(), path.suffix) == []


def test_every_page_file_is_scanned() -> None:
    assert {path.name for path in PAGE_FILES} >= {
        "index.html",
        "dashboard.html",
        "app.js",
        "session.js",
        "dashboard.js",
        "style.css",
        "dashboard.css",
        "favicon.svg",
    }
    assert all(path.suffix in REFERENCES for path in PAGE_FILES)


def test_the_page_refers_to_its_own_script_and_stylesheet() -> None:
    found = references((TEMPLATES_DIR / "index.html").read_text(), ".html")

    assert {
        "/static/app.js",
        "/static/status.js",
        "/static/style.css",
        "/static/favicon.svg",
    } <= set(found)


def test_the_dashboard_refers_to_its_own_scripts_and_stylesheets() -> None:
    found = set(references((TEMPLATES_DIR / "dashboard.html").read_text(), ".html"))

    assert {"/static/session.js", "/static/dashboard.js", "/static/dashboard.css"} <= found


@pytest.mark.parametrize(
    ("kind", "snippet"),
    [
        (".html", '<script src="https://cdn.example.com/lib.js"></script>'),
        (".html", "<link rel=stylesheet href=//fonts.example.com/css>"),
        (".html", '<img srcset="http://img.example.com/a.png 2x">'),
        (".html", '<a href="mailto:someone@example.com">'),
        (".html", '<iframe src="data:text/html,hi">'),
        (".html", '<div style="background: url(data:image/png;base64,AAAA)">'),
        (".svg", '<image href="https://img.example.com/a.png"/>'),
        (".css", "body { background: url(http://img.example.com/bg.png); }"),
        (".css", "@import 'https://fonts.example.com/css';"),
        (".css", "@import url(//fonts.example.com/css);"),
        (".js", 'import confetti from "https://esm.example.com/confetti";'),
        (".js", 'const lib = await import("https://esm.example.com/lib.js");'),
        (".js", 'import "./polyfill.js";'),
        (".js", 'fetch("https://api.example.com/track")'),
    ],
)
def test_the_scanner_catches_external_references(kind: str, snippet: str) -> None:
    assert external(snippet, kind) != []
