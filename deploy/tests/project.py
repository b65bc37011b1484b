"""What the deployment tests compare the deployment files with: the project as it is."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

# `${VAR:default}` in a config.yaml: the env vars a service reads.
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*):")


def service_packages() -> list[str]:
    """Every package that `nameko run` starts: it has a service.py and a config.yaml."""
    return sorted(
        path.parent.name
        for path in ROOT.glob("*/config.yaml")
        if (path.parent / "service.py").exists()
    )


class _UnexpandedLoader(yaml.SafeLoader):
    """Reads a config.yaml without expanding anything (and without its comments)."""


for _tag in ("!env_var", "!raw_env_var"):
    _UnexpandedLoader.add_constructor(_tag, lambda loader, node: loader.construct_scalar(node))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.items():
            yield from _strings(list(item))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@cache
def config_values(package: str) -> tuple[str, ...]:
    """Every string in a service's config.yaml, `${VAR:default}` references unexpanded."""
    text = (ROOT / package / "config.yaml").read_text()
    return tuple(_strings(yaml.load(text, Loader=_UnexpandedLoader)))


def config_env_vars(package: str) -> frozenset[str]:
    return frozenset(
        name for value in config_values(package) for name in ENV_REFERENCE.findall(value)
    )


def config_default(package: str, variable: str) -> str:
    """The default a config.yaml gives `variable` (`${VARIABLE:default}`)."""
    pattern = re.compile(rf"\$\{{{variable}:([^}}]*)\}}")
    for value in config_values(package):
        if match := pattern.search(value):
            return match.group(1)
    raise AssertionError(f"{package}/config.yaml does not read {variable}")


def dockerfile(package: str) -> Path:
    return ROOT / package / f"{package}.dockerfile"


def image_package(image: str) -> str:
    """`nameko-microservices/gateway-ui:tag` (or with a registry prefix) -> `gateway_ui`."""
    return image.rsplit("/", 1)[-1].split(":", 1)[0].replace("-", "_")


def load_yaml_documents(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


@cache
def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))
