"""The test page's settings: the URLs the user's browser talks to, checked once when the service
starts (a wrong BROKER_URL stops it there instead of breaking every page view). Defaults are in
gateway_ui/config.yaml."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

from common.settings import ServiceSettings


def _http_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    if any(char in value for char in " \"';,\r\n"):
        # The broker's origin goes into a Content-Security-Policy header.
        raise ValueError("must not contain spaces, quotes, commas or semicolons")
    return value.rstrip("/")


# An absolute http(s) URL, kept without a trailing slash.
HttpUrl = Annotated[str, AfterValidator(_http_url)]


class PageSettings(ServiceSettings):
    service = "gateway_ui"

    broker_url: HttpUrl
    mail_ui_url: HttpUrl

    @property
    def broker_origin(self) -> str:
        parts = urlsplit(self.broker_url)
        return f"{parts.scheme}://{parts.netloc}"

    def for_browser(self) -> dict[str, str]:
        """The settings app.js reads (camelCase, as JavaScript spells them)."""
        return {"brokerUrl": self.broker_url, "mailUiUrl": self.mail_ui_url}
