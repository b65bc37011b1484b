"""Load a service's `config.yaml` outside `nameko run` (gRPC server, CLI commands, scripts).

`nameko run --config` already expands `${ENV_VAR:default}` values; this uses the very same YAML
resolver so every entry point reads a file the same way.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path
from typing import Any

import yaml

# nameko's CLI module imports pkg_resources, which warns on import; the warning is about nameko,
# not about anything a user of this project can act on.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)
    from nameko.cli.main import setup_yaml_parser

ROOT = Path(__file__).resolve().parent.parent


@cache
def _install_env_var_resolver() -> None:
    setup_yaml_parser()


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file, expanding `${VAR:default}` from the environment."""
    _install_env_var_resolver()
    with open(path) as stream:
        return yaml.safe_load(stream) or {}


def service_config(service: str) -> dict[str, Any]:
    """The config of one service by package name, e.g. `service_config("logger")`."""
    return load_config(ROOT / service / "config.yaml")
