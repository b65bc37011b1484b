"""What the test page serves: the HTML with its settings filled in, and the static files.

Kept free of Nameko so it can be tested on its own; `dependencies.py` wires it to the container.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Response

PACKAGE_DIR = Path(__file__).resolve().parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES_DIR = PACKAGE_DIR / "templates"

# Only these files are served, with fixed types: the host's mimetypes table differs between
# machines (`.js` is `application/javascript` on some, `text/javascript` on others).
STATIC_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}

HTML_MIMETYPE = "text/html"


class InvalidSetting(ValueError):
    """A URL in the configuration the page cannot use; raised at start-up, not per request."""


@dataclass(frozen=True)
class PageSettings:
    """The URLs the user's browser talks to, without a trailing slash."""

    broker_url: str
    mail_ui_url: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PageSettings:
        return cls(
            broker_url=_http_url(config, "BROKER_URL"),
            mail_ui_url=_http_url(config, "MAIL_UI_URL"),
        )

    @property
    def broker_origin(self) -> str:
        parts = urlsplit(self.broker_url)
        return f"{parts.scheme}://{parts.netloc}"

    def for_browser(self) -> dict[str, str]:
        """The settings app.js reads (camelCase, as JavaScript spells them)."""
        return {"brokerUrl": self.broker_url, "mailUiUrl": self.mail_ui_url}


def _http_url(config: dict[str, Any], key: str) -> str:
    value = str(config.get(key) or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidSetting(f"{key} must be an absolute http(s) URL, got {value!r}")
    if any(char in value for char in " \"';,\r\n"):
        # The broker's origin goes into a Content-Security-Policy header.
        raise InvalidSetting(f"{key} must not contain spaces, quotes, commas or semicolons")
    return value.rstrip("/")


def render_index(settings: PageSettings) -> str:
    """The page, with the settings as a JSON data block (escaped for HTML by `tojson`)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
    )
    template = environment.get_template("index.html")
    return template.render(settings=settings, app_config=settings.for_browser())


def security_headers(settings: PageSettings) -> dict[str, str]:
    """Headers for the page: the browser itself refuses any asset that is not ours, and fetches
    go only to the broker, so the page provably works offline."""
    policy = "; ".join(
        [
            "default-src 'self'",
            f"connect-src 'self' {settings.broker_origin}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def static_file(path: str, environ: dict[str, Any]) -> Response:
    """A file under static/, or werkzeug's `NotFound` for an unknown type, a missing file or a
    path that leaves the folder (`safe_join` refuses `..` and absolute paths).

    The files have no content hash in their names, so browsers revalidate each time
    (`no-cache`) and get a 304 from the ETag when nothing changed: an edit shows on reload.
    """
    mimetype = STATIC_TYPES.get(PurePosixPath(path).suffix)
    if mimetype is None:
        raise NotFound()
    response = send_from_directory(STATIC_DIR, path, environ, mimetype=mimetype)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
