"""What the test page serves: its pages (the test page, the log dashboard) with their settings
filled in, and the static files.

Kept free of Nameko so it can be tested on its own; `dependencies.py` wires it to the container.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Response

from gateway_ui.settings import PageSettings

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


# The pages, by the path they are served at: the test page and the log dashboard.
PAGES = {"/": "index.html", "/dashboard": "dashboard.html"}


def render_page(template_name: str, settings: PageSettings) -> str:
    """A page, with the settings as a JSON data block (escaped for HTML by `tojson`)."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
    )
    template = environment.get_template(template_name)
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
