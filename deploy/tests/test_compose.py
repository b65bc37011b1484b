"""docker-compose.yml, checked without a Docker engine: the Compose Specification's JSON schema
(bundled with check-jsonschema), then what the schema cannot know about this system."""

from __future__ import annotations

import re
import subprocess
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from broker.cors import CorsPolicy
from deploy.tests.project import (
    ROOT,
    VENV_BIN,
    config_env_vars,
    dockerfile,
    image_package,
    service_packages,
)

COMPOSE_FILES = ["docker-compose.yml", "deploy/compose.infra.yml"]
INFRASTRUCTURE = {"rabbitmq", "postgres", "mongo", "mailpit"}
# What the host sees: the broker and the test page for everyone, the UIs on loopback only.
PUBLISHED = {
    "broker": ["8080:8080"],
    "gateway-ui": ["80:8081"],
    "rabbitmq": ["127.0.0.1:15672:15672"],
    "mailpit": ["127.0.0.1:8025:8025"],
    "prometheus": ["127.0.0.1:9090:9090"],
}
# Server addresses opened by the user's browser, not by a container.
BROWSER_URLS = {"BROKER_URL", "MAIL_UI_URL"}


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def built_services() -> list[str]:
    return [name for name, service in services().items() if "build" in service]


def package_of(service: str) -> str:
    return services()[service]["build"]["dockerfile"].split("/", 1)[0]


def interpolated(value: str) -> str:
    """A value as compose sees it with no variable set: `${VAR:-default}` -> default."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", value)


@pytest.mark.parametrize("path", COMPOSE_FILES)
def test_compose_file_matches_the_compose_specification(path):
    result = subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", service_packages())
def test_every_service_package_has_a_compose_service_built_from_its_dockerfile(package):
    assert package in [package_of(name) for name in built_services()]
    assert dockerfile(package).exists()


@pytest.mark.parametrize("service", built_services())
def test_service_sets_every_env_var_its_config_reads(service):
    environment = services()[service]["environment"]
    missing = config_env_vars(package_of(service)) - set(environment)
    assert not missing, f"{service} lacks {sorted(missing)}"


@pytest.mark.parametrize("service", built_services())
def test_image_is_named_for_its_package(service):
    assert image_package(interpolated(services()[service]["image"])) == package_of(service)


@pytest.mark.parametrize("service", list(services()))
def test_dependencies_exist_and_wait_for_a_condition(service):
    for dependency, rule in services()[service].get("depends_on", {}).items():
        assert dependency in services()
        assert rule["condition"] in {"service_healthy", "service_completed_successfully"}


@pytest.mark.parametrize(
    ("service", "dependency", "condition"),
    [
        *[(name, "rabbitmq", "service_healthy") for name in ("broker", "auth", "logger")],
        *[(name, "rabbitmq", "service_healthy") for name in ("listener", "mailer")],
        ("auth-migrate", "postgres", "service_healthy"),
        ("auth", "auth-migrate", "service_completed_successfully"),
        ("logger", "mongo", "service_healthy"),
        ("logger-grpc", "mongo", "service_healthy"),
        ("mailer", "mailpit", "service_healthy"),
    ],
)
def test_services_start_after_what_they_need(service, dependency, condition):
    assert services()[service]["depends_on"][dependency]["condition"] == condition


@pytest.mark.parametrize("service", list(services()))
def test_published_ports_are_only_the_public_doors(service):
    assert services()[service].get("ports", []) == PUBLISHED.get(service, [])


@pytest.mark.parametrize("service", ["logger", "logger-grpc"])
def test_logger_ports_are_internal(service):
    assert "ports" not in services()[service]
    assert services()[service]["expose"]


@pytest.mark.parametrize("service", list(services()))
def test_every_long_running_service_has_a_health_check(service):
    definition = services()[service]
    if definition.get("restart") == "no":  # a one-shot job
        assert definition["healthcheck"] == {"disable": True}
    elif "healthcheck" in definition:
        assert definition["healthcheck"]["test"][0] == "CMD"
    else:
        # The image's own HEALTHCHECK, which checks the image's own command.
        assert "command" not in definition
        assert "\nHEALTHCHECK " in dockerfile(package_of(service)).read_text()


@pytest.mark.parametrize("path", COMPOSE_FILES)
def test_data_lives_in_named_volumes(path):
    document = yaml.safe_load((ROOT / path).read_text())
    mounts = [
        mount.split(":", 1)[0]
        for service in document["services"].values()
        for mount in service.get("volumes", [])
        if not mount.startswith("./deploy/") or mount.endswith(":ro")
    ]
    # Besides data: configuration from deploy/, mounted read-only (Prometheus', RabbitMQ plugins).
    config = [m for m in mounts if m.startswith("./deploy/")]
    assert all((ROOT / m).exists() for m in config)
    assert mounts
    assert set(mounts) - set(config) == set(document["volumes"])


@pytest.mark.parametrize("service", sorted(INFRASTRUCTURE))
def test_infrastructure_images_are_pinned(service):
    assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+(\.\d+)?(-[\w.]+)?", services()[service]["image"])


def test_mongo_requires_the_credentials_the_logger_uses():
    mongo = services()["mongo"]["environment"]
    uri = urlsplit(interpolated(services()["logger"]["environment"]["MONGO_URI"]))
    assert (uri.username, uri.password) == (
        interpolated(mongo["MONGO_INITDB_ROOT_USERNAME"]),
        interpolated(mongo["MONGO_INITDB_ROOT_PASSWORD"]),
    )


@pytest.mark.parametrize("service", built_services())
def test_server_addresses_name_compose_services(service):
    for name, value in services()[service]["environment"].items():
        value = interpolated(str(value))
        if name in BROWSER_URLS or "://" not in value or " " in value:
            continue  # not the address of a server the container calls
        assert urlsplit(value).hostname in services(), f"{service} {name}={value}"
    if target := services()[service]["environment"].get("LOGGER_GRPC_TARGET"):
        assert target.rsplit(":", 1)[0] in services()


def test_browser_urls_are_published_on_the_host():
    published = {mapping.rsplit(":", 2)[-2] for ports in PUBLISHED.values() for mapping in ports}
    environment = services()["gateway-ui"]["environment"]
    for name in BROWSER_URLS:
        url = urlsplit(environment[name])
        assert (url.hostname, str(url.port)) in {("localhost", port) for port in published}


def test_broker_lets_the_published_test_page_call_it():
    policy = CorsPolicy.from_setting(services()["broker"]["environment"]["CORS_ALLOWED_ORIGINS"])
    assert policy.allows("http://localhost")
