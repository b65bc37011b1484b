"""The page's settings, rendering, headers and static files, without Nameko."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.test import EnvironBuilder

from common.settings import InvalidSetting
from gateway_ui.pages import PAGES, render_page, security_headers, static_file
from gateway_ui.settings import PageSettings

SETTINGS = PageSettings(broker_url="http://broker.test:9000", mail_ui_url="http://mail.test:8025")


class ConfigBlock(HTMLParser):
    """Collects the text of `<script id="app-config">`, as a browser would read it."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = tag == "script" and ("id", "app-config") in attrs

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data


def config_block(html: str) -> dict[str, str]:
    parser = ConfigBlock()
    parser.feed(html)
    return json.loads(parser.text)


def test_settings_come_from_config_without_trailing_slash() -> None:
    settings = PageSettings.from_config(
        {"BROKER_URL": "http://localhost:8080/", "MAIL_UI_URL": " https://mail.test/ui/ "}
    )

    assert settings == PageSettings(
        broker_url="http://localhost:8080", mail_ui_url="https://mail.test/ui"
    )


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "localhost:8080",
        "/relative",
        "ftp://files.test",
        "javascript:alert(1)",
        "http://",
        "http://broker.test:8080 http://evil.test",
        "http://broker.test;script-src *",
        "http://broker.test,http://evil.test",
        "http://broker.test/'unsafe-inline'",
    ],
)
def test_a_broker_url_the_page_cannot_use_is_refused(value: str | None) -> None:
    with pytest.raises(InvalidSetting, match="BROKER_URL"):
        PageSettings.from_config({"BROKER_URL": value, "MAIL_UI_URL": "http://mail.test"})


def test_a_mail_ui_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(InvalidSetting, match="MAIL_UI_URL"):
        PageSettings.from_config({"BROKER_URL": "http://b.test", "MAIL_UI_URL": "javascript:x()"})


def test_the_broker_origin_drops_the_path() -> None:
    settings = PageSettings(broker_url="https://gw.test:8443/api", mail_ui_url="http://m.test")
    assert settings.broker_origin == "https://gw.test:8443"


@pytest.mark.parametrize("template", PAGES.values())
def test_the_page_carries_the_settings_for_the_script_and_the_reader(template: str) -> None:
    html = render_page(template, SETTINGS)

    assert config_block(html) == {
        "brokerUrl": "http://broker.test:9000",
        "mailUiUrl": "http://mail.test:8025",
    }
    assert 'data-testid="broker-url"' in html
    assert ">http://broker.test:9000</code>" in html


def test_the_test_page_links_the_mail_catcher_and_the_dashboard() -> None:
    html = render_page("index.html", SETTINGS)

    assert '<code data-testid="broker-url" id="broker-url">http://broker.test:9000</code>' in html
    assert 'href="http://mail.test:8025"' in html
    assert 'href="/dashboard"' in html


@pytest.mark.parametrize("template", PAGES.values())
def test_a_url_cannot_break_out_of_the_config_block_or_an_attribute(template: str) -> None:
    hostile = 'http://b.test/</script><script>alert(1)</script>"><b>'
    # As if such a URL had got past the settings' checks: rendering must escape it anyway.
    settings = PageSettings.model_construct(broker_url=hostile, mail_ui_url=hostile)
    html = render_page(template, settings)

    assert "<script>alert(1)" not in html
    assert '"><b>' not in html
    assert config_block(html)["brokerUrl"] == hostile


def test_the_security_policy_allows_only_our_own_assets_and_the_broker() -> None:
    policy = security_headers(SETTINGS)["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}

    assert directives["default-src"] == ["'self'"]
    assert directives["connect-src"] == ["'self'", "http://broker.test:9000"]
    assert directives["frame-ancestors"] == ["'none'"]


def environ() -> dict:
    return EnvironBuilder(path="/static/x", method="GET").get_environ()


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("session.js", "text/javascript; charset=utf-8"),
        ("dashboard.js", "text/javascript; charset=utf-8"),
        ("dashboard.css", "text/css; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("favicon.svg", "image/svg+xml; charset=utf-8"),
    ],
)
def test_static_files_have_fixed_types_and_are_revalidated(path: str, content_type: str) -> None:
    response = static_file(path, environ())

    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["ETag"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


@pytest.mark.parametrize(
    "path",
    [
        "missing.js",
        "../service.py",
        "../config.yaml",
        "../templates/index.html",
        "../../conftest.py",
        "/etc/passwd",
        "..\\pages.py",
        "static/../../service.py",
        "",
    ],
)
def test_anything_else_is_not_found(path: str) -> None:
    with pytest.raises(NotFound):
        static_file(path, environ())
