"""The page and its static files as a Nameko dependency.

The pages are rendered once, in `setup()`, from the settings checked there (a wrong `BROKER_URL`
stops the service at start-up instead of breaking every page view): a request costs no rendering.
"""

from __future__ import annotations

import logging
from typing import Any

from nameko.extensions import DependencyProvider
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from common.envelope import error_response
from common.settings import settings_for
from gateway_ui.pages import HTML_MIMETYPE, PAGES, render_page, security_headers, static_file
from gateway_ui.settings import PageSettings

log = logging.getLogger(__name__)


class Site:
    """What a worker gets: ready-made responses for the pages and their files."""

    def __init__(self, pages: dict[str, str], headers: dict[str, str]) -> None:
        self._pages = pages  # path -> HTML
        self._headers = headers

    def page(self, path: str) -> Response:
        # no-cache: a page carries settings, which change when the service is restarted.
        headers = {**self._headers, "Cache-Control": "no-cache"}
        return Response(self._pages[path], status=200, headers=headers, mimetype=HTML_MIMETYPE)

    def static_file(self, path: str, environ: dict[str, Any]) -> Response:
        try:
            return static_file(path, environ)
        except NotFound:
            return error_response(404, "not found")


class PageFiles(DependencyProvider):
    """The pages for `BROKER_URL` and `MAIL_UI_URL` (gateway_ui/settings.py)."""

    def setup(self) -> None:
        settings = settings_for(self.container, PageSettings)
        pages = {path: render_page(template, settings) for path, template in PAGES.items()}
        self.site = Site(pages, security_headers(settings))
        log.info(
            "test page talks to the broker at %s, mail UI at %s",
            settings.broker_url,
            settings.mail_ui_url,
        )

    def get_dependency(self, worker_ctx: Any) -> Site:
        return self.site
