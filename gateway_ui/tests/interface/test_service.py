"""The gateway_ui service over real HTTP: a Nameko container serving the page and its files."""

from __future__ import annotations

import http.client
from typing import Any

import pytest
from nameko.constants import WEB_SERVER_CONFIG_KEY

from common.config import service_config
from common.settings import InvalidSetting
from gateway_ui.service import GatewayUiService

BROKER_URL = "http://broker.test:9000"
MAIL_UI_URL = "http://mail.test:8025"


@pytest.fixture
def config(web_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **service_config("gateway_ui"),
        **web_config,
        "BROKER_URL": BROKER_URL,
        "MAIL_UI_URL": MAIL_UI_URL,
    }


@pytest.fixture
def service(container_factory, config: dict[str, Any]) -> None:
    container_factory(GatewayUiService, config).start()


@pytest.fixture
def raw_get(config: dict[str, Any]):
    """GET with the path sent exactly as written (HTTP clients tidy `..` away)."""
    host, port = config[WEB_SERVER_CONFIG_KEY].rsplit(":", 1)

    def get(path: str) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.getheader("Location", ""), response.read()
        finally:
            connection.close()

    return get


@pytest.mark.usefixtures("service")
def test_the_page_is_served_with_the_configured_urls(web_session) -> None:
    response = web_session.get("/")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert f"connect-src 'self' {BROKER_URL}" in response.headers["Content-Security-Policy"]
    assert f'"brokerUrl": "{BROKER_URL}"' in response.text
    assert f'href="{MAIL_UI_URL}"' in response.text
    for button in ("broker", "auth", "log-rabbit", "log-rpc", "log-grpc", "mail"):
        assert f'data-testid="btn-{button}"' in response.text


@pytest.mark.usefixtures("service")
def test_the_dashboard_is_served_with_the_same_settings_and_policy(web_session) -> None:
    response = web_session.get("/dashboard")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert f"connect-src 'self' {BROKER_URL}" in response.headers["Content-Security-Policy"]
    assert f'"brokerUrl": "{BROKER_URL}"' in response.text
    for part in ("signin-form", "filters", "entries", "btn-older", "btn-newer", "btn-pause"):
        assert f'data-testid="{part}"' in response.text


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [
        ("/static/app.js", "text/javascript; charset=utf-8", b'"use strict";'),
        ("/static/session.js", "text/javascript; charset=utf-8", b"const BrokerSession"),
        ("/static/dashboard.js", "text/javascript; charset=utf-8", b'"use strict";'),
        ("/static/dashboard.css", "text/css; charset=utf-8", b".entry-dialog"),
        ("/static/style.css", "text/css; charset=utf-8", b":root"),
        ("/static/favicon.svg", "image/svg+xml; charset=utf-8", b"<svg"),
    ],
)
def test_static_files_are_served_with_their_type_and_revalidated(
    web_session, path: str, content_type: str, marker: bytes
) -> None:
    response = web_session.get(path)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-cache"
    assert marker in response.content
    again = web_session.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.usefixtures("service")
@pytest.mark.parametrize(
    "path",
    [
        "/static/../service.py",
        "/static/%2e%2e/service.py",
        "/static/..%2fservice.py",
        "/static/%2e%2e%2f%2e%2e%2fconftest.py",
        "/static/..%5cservice.py",
        "/static/../config.yaml",
        "/static/../templates/index.html",
        "/static/missing.js",
    ],
)
def test_paths_outside_the_static_folder_are_refused(raw_get, path: str) -> None:
    status, _, body = raw_get(path)

    assert status == 404
    assert b"GatewayUiService" not in body
    assert b"BROKER_URL" not in body


@pytest.mark.usefixtures("service")
def test_an_absolute_path_is_folded_back_into_the_static_folder(raw_get) -> None:
    # werkzeug's router merges the double slash of `/static//etc/passwd` with a redirect, and
    # the target is still under /static/, where no such file exists.
    status, location, _ = raw_get("/static/%2fetc%2fpasswd")

    assert status == 308
    assert location.endswith("/static/etc/passwd")
    assert raw_get("/static/etc/passwd")[0] == 404


@pytest.mark.usefixtures("service")
def test_a_missing_file_gets_the_error_envelope(web_session) -> None:
    response = web_session.get("/static/missing.css")

    assert response.status_code == 404
    assert response.json() == {"error": True, "message": "not found"}


@pytest.mark.usefixtures("service")
def test_ping(web_session) -> None:
    response = web_session.get("/ping")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error": False, "message": "pong"}


def test_the_service_refuses_to_start_with_an_unusable_broker_url(
    container_factory, config: dict[str, Any]
) -> None:
    container = container_factory(GatewayUiService, {**config, "BROKER_URL": "localhost:8080"})

    with pytest.raises(InvalidSetting, match="BROKER_URL"):
        container.start()
