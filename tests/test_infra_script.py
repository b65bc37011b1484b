"""scripts/infra.sh on a bare Debian machine, decided but not done: `plan` runs against a PATH
that holds only the basic tools the script needs (no RabbitMQ, PostgreSQL, Node.js), with every
server port free, and prints what `up` would install and start. apt-get and the servers' commands
are fakes that record any call: nothing is installed or started, whatever the script decides.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "infra.sh"
# What the script runs besides the tools it decides about.
BASICS = ["dirname", "ls", "sort", "tail", "awk", "cat", "mkdir", "seq", "sleep"]
PORT_NAMES = ["RABBIT_PORT", "RABBIT_API_PORT", "POSTGRES_PORT", "MONGO_PORT", "SMTP_PORT"]
SERVER_TOOLS = ["rabbitmq-server", "rabbitmq-plugins", "pg_ctlcluster", "node", "npm"]


class BareMachine:
    """A bin directory for PATH: the basics, and fakes that log their calls to `calls`."""

    def __init__(self, directory: Path) -> None:
        self.bin = directory / "bin"
        self.bin.mkdir()
        self.calls = directory / "calls.log"
        self.calls.touch()
        for tool in BASICS:
            (self.bin / tool).symlink_to(shutil.which(tool))
        self.fake("apt-get", exit_status=1)
        self.uid = 0

    def fake(self, name: str, exit_status: int = 0, output: str = "", log: bool = True) -> None:
        """`log`: whether a call counts as doing something (asking `id -u` does not)."""
        path = self.bin / name
        record = f'echo "{name} $*" >>{self.calls}\n' if log else ""
        path.write_text(
            f"#!{shutil.which('bash')}\n{record}printf '%s' '{output}'\nexit {exit_status}\n"
        )
        path.chmod(0o755)

    def plan(self, **env: str) -> subprocess.CompletedProcess[str]:
        self.fake("id", output=str(self.uid), log=False)
        return subprocess.run(
            [shutil.which("bash"), str(SCRIPT), "plan"],
            env={"PATH": str(self.bin), "HOME": os.environ.get("HOME", "/"), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def machine(tmp_path: Path) -> BareMachine:
    machine = BareMachine(tmp_path)
    # Python with its venv module (`import ensurepip` works), as the Makefile finds it.
    machine.fake("python3.11", log=False)
    return machine


@pytest.fixture
def nothing_answers() -> dict[str, str]:
    return {name: str(free_port()) for name in [*PORT_NAMES, "MAIL_UI_PORT"]}


@pytest.fixture
def everything_answers() -> Iterator[dict[str, str]]:
    listeners = []
    for _ in [*PORT_NAMES, "MAIL_UI_PORT"]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listeners.append(listener)
    yield {
        name: str(listener.getsockname()[1])
        for name, listener in zip([*PORT_NAMES, "MAIL_UI_PORT"], listeners, strict=True)
    }
    for listener in listeners:
        listener.close()


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stdout.splitlines()


def test_as_root_it_would_install_what_is_missing_with_apt_then_start_it_without_systemd(
    machine, nothing_answers
):
    result = machine.plan(PYTHON="python3.11", **nothing_answers)

    assert result.returncode == 0, result.stderr
    said = lines(result)
    packages = "nodejs npm rabbitmq-server postgresql"
    assert said[0] == f"[infra] would install {packages}: apt-get install -y {packages}"
    assert said[1].startswith("[infra] would let local TCP connections into the new PostgreSQL")
    assert "[infra] would start RabbitMQ: rabbitmq-server -detached" in said
    assert (
        "[infra] would enable the RabbitMQ management plugin: "
        "rabbitmq-plugins enable rabbitmq_management"
    ) in said
    assert any(
        line.startswith("[infra] would start PostgreSQL: pg_ctlcluster --skip-systemctl-redirect")
        and line.endswith(" main start")
        for line in said
    )
    assert any(line.startswith("[infra] would start SecantusDB") for line in said)
    assert any(line.startswith("[infra] would start maildev") for line in said)
    assert machine.calls.read_text() == ""  # no apt-get, nothing started


def test_as_another_user_it_prints_the_one_sudo_line_and_stops(machine, nothing_answers):
    machine.uid = 1000
    result = machine.plan(PYTHON="python3.11", **nothing_answers)

    assert result.returncode == 1
    assert lines(result) == [
        "[infra] missing: nodejs npm rabbitmq-server postgresql. Install them (as root), then run "
        "this again:",
        "    sudo apt-get install -y nodejs npm rabbitmq-server postgresql",
    ]
    assert machine.calls.read_text() == ""


def test_python_without_its_venv_module_adds_the_venv_package(machine, nothing_answers):
    # `import ensurepip` fails, as on a bare Debian.
    machine.fake("python3.11", exit_status=1, log=False)
    machine.uid = 1000
    result = machine.plan(PYTHON="python3.11", **nothing_answers)

    assert "    sudo apt-get install -y python3.11-venv nodejs npm" in result.stdout


def test_servers_already_answering_need_nothing_installed_or_started(machine, everything_answers):
    for tool in ["node", "npm"]:
        machine.fake(tool)
    result = machine.plan(PYTHON="python3.11", **everything_answers)

    assert result.returncode == 0, result.stderr
    assert lines(result) == [
        "[infra] Debian packages: nothing missing",
        f"[infra] RabbitMQ answers on :{everything_answers['RABBIT_PORT']}",
        f"[infra] PostgreSQL answers on :{everything_answers['POSTGRES_PORT']}",
        f"[infra] MongoDB-protocol server answers on :{everything_answers['MONGO_PORT']}",
        f"[infra] SMTP catcher answers on :{everything_answers['SMTP_PORT']}",
        f"[infra] maildev web UI answers on :{everything_answers['MAIL_UI_PORT']}",
    ]
    assert machine.calls.read_text() == ""


def test_installed_but_stopped_servers_would_be_started_not_installed(machine, nothing_answers):
    for tool in SERVER_TOOLS:
        machine.fake(tool)
    result = machine.plan(PYTHON="python3.11", **nothing_answers)

    assert result.returncode == 0, result.stderr
    said = lines(result)
    assert said[0] == "[infra] Debian packages: nothing missing"
    assert "[infra] would start RabbitMQ: rabbitmq-server -detached" in said
    assert not [line for line in said if "install" in line]
    assert machine.calls.read_text() == ""  # decided, never run
