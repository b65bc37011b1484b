"""What the deployment tests compare the deployment files with: the project as it is."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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
def imported_modules(package: str) -> frozenset[str]:
    """The top-level modules that `package`'s code (not its tests) imports."""
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return frozenset(found)


def project_packages() -> set[str]:
    return {path.parent.name for path in ROOT.glob("*/__init__.py")}


def needed_packages(package: str) -> set[str]:
    """`package` and the project's packages its code imports, directly or not."""
    needed, todo = set(), [package]
    while todo:
        current = todo.pop()
        if current not in needed:
            needed.add(current)
            todo.extend(imported_modules(current) & project_packages())
    return needed


def third_party_imports(package: str) -> set[str]:
    """The top-level modules from installed distributions that a service's code imports, with
    the project's packages it needs (common/, protos/...)."""
    modules = set().union(*(imported_modules(needed) for needed in needed_packages(package)))
    return modules - project_packages() - set(sys.stdlib_module_names)


def requirement_files(path: Path) -> list[Path]:
    """A requirements file and the ones it includes (`-r`), recursively."""
    files = [path]
    for line in _requirement_lines(path):
        if line.startswith("-r "):
            files += requirement_files(path.parent / line.removeprefix("-r ").strip())
    return files


def requirements(path: Path) -> list[Requirement]:
    """What a requirements file and those it includes name."""
    return [
        Requirement(line)
        for file in requirement_files(path)
        for line in _requirement_lines(file)
        if not line.startswith("-")
    ]


def service_requirements(package: str) -> Path:
    return ROOT / "requirements" / f"{package}.txt"


@cache
def constraints() -> dict[str, str]:
    """constraints.txt: canonical distribution name -> the version it is pinned to."""
    pins = (Requirement(line) for line in _requirement_lines(ROOT / "constraints.txt"))
    return {canonicalize_name(pin.name): str(pin.specifier).removeprefix("==") for pin in pins}


def _requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]
