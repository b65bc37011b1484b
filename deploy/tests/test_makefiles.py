"""The seed's make targets (make/containers.mk, included by the Makefile) and Makefile.windows:
`make -n` shows what each target would run, without running it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.tests.project import ROOT

COMPOSE = "docker compose"
# target (and variables) -> the commands it runs, in the seed's meaning.
SEED_TARGETS = {
    "up": ["docker compose up -d"],
    "up-build": ["docker compose up --build -d"],
    "up_build": ["docker compose up --build -d"],
    "service-build SERVICE=listener": ["docker compose build listener"],
    "build_broker": ["docker compose build broker"],
    "build_auth": ["docker compose build auth"],
    "build_logger": ["docker compose build logger"],
    "build_mail": ["docker compose build mailer"],
    "build_listener": ["docker compose build listener"],
    "build_front": ["docker compose build gateway-ui"],
    "down": ["docker compose down"],
    "start": ["scripts/frontend.sh start"],
    "stop": ["scripts/frontend.sh stop"],
}
CONTAINER_TARGETS = [target for target in SEED_TARGETS if not target.startswith("st")]
HELP_LINE = re.compile(r"^## ([\w-]+):", re.MULTILINE)
RULE = re.compile(r"^([\w-]+):(?!=)", re.MULTILINE)
# What cmd.exe cannot run, or the seed's Windows users would not have.
NOT_FOR_CMD = re.compile(r";|/dev/null|\bexport\b|\$\$\(|\[\[|`|\bsudo\b|\bcurl\b")


def make(*arguments: str, makefile: str = "Makefile", path: str | None = None) -> list[str]:
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-f", makefile, *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def public_targets(*makefiles: str) -> set[str]:
    return {name for path in makefiles for name in HELP_LINE.findall((ROOT / path).read_text())}


@pytest.mark.parametrize("target", SEED_TARGETS)
def test_seed_target_runs_the_expected_commands(target):
    output = make(*target.split(), f"COMPOSE={COMPOSE}")
    expected = SEED_TARGETS[target]
    assert output[-len(expected) :] == expected


def test_service_build_without_a_service_says_how_to_call_it():
    result = subprocess.run(
        ["make", "-n", "service-build"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SERVICE=<one of broker auth logger listener mailer gateway-ui>" in result.stderr


@pytest.mark.parametrize(
    ("plugin_works", "command"), [(True, "docker compose"), (False, "docker-compose")]
)
def test_compose_v2_plugin_is_preferred_with_docker_compose_as_fallback(
    tmp_path: Path, plugin_works, command
):
    fake_docker = tmp_path / "docker"
    fake_docker.write_text(f"#!/bin/sh\nexit {0 if plugin_works else 1}\n")
    fake_docker.chmod(0o755)
    assert make("up", path=f"{tmp_path}:{os.environ['PATH']}")[-1] == f"{command} up -d"


def test_built_images_are_docker_compose_services():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    fragment = (ROOT / "make" / "containers.mk").read_text()
    images = re.search(r"^IMAGES := (.*)$", fragment, re.MULTILINE).group(1).split()
    built = [
        command.split()[-1]
        for commands in SEED_TARGETS.values()
        for command in commands
        if " build " in command
    ]
    assert set(built) <= set(images) <= set(services)


def test_help_lists_every_seed_target_first_on_its_line():
    result = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert {target.split()[0] for target in SEED_TARGETS} <= listed


def test_windows_makefile_has_the_same_targets():
    linux = public_targets("Makefile", "make/containers.mk")
    windows_text = (ROOT / "Makefile.windows").read_text()
    assert public_targets("Makefile.windows") == linux
    assert set(RULE.findall(windows_text)) - {".PHONY"} >= linux


def test_windows_recipes_are_plain_cmd_commands():
    text = (ROOT / "Makefile.windows").read_text()
    assert re.search(r"^SHELL := cmd\.exe$", text, re.MULTILINE)
    assert not re.search(r"^export\b", text, re.MULTILINE)
    recipes = [line for line in text.splitlines() if line.startswith("\t")]
    assert recipes
    assert not [line for line in recipes if NOT_FOR_CMD.search(line)]


@pytest.mark.parametrize("target", CONTAINER_TARGETS)
def test_windows_container_targets_run_the_same_commands(target):
    output = make(*target.split(), f"COMPOSE={COMPOSE}", makefile="Makefile.windows")
    assert output[-len(SEED_TARGETS[target]) :] == SEED_TARGETS[target]
