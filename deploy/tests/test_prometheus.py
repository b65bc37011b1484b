"""The Prometheus configurations and alert rules in deploy/prometheus, checked by Debian's promtool
(`make test` installs the `prometheus` package when promtool is missing): syntax, and the alert
rules' unit tests (alerts_test.yml)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from deploy.tests.project import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
CONFIGS = ("prometheus.yml", "local.yml")


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("promtool")
    assert executable, "promtool is missing: `make promtool` installs Debian's prometheus"
    return subprocess.run(
        [executable, *arguments], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("config", CONFIGS)
def test_the_configuration_is_valid(config):
    result = promtool("check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_are_valid_and_their_unit_tests_pass():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts_test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def jobs(config: str) -> dict[str, dict]:
    document = yaml.safe_load((PROMETHEUS / config).read_text())
    return {job.pop("job_name"): job for job in document["scrape_configs"]}


def test_compose_and_local_configurations_scrape_the_same_jobs_the_same_way():
    compose, local = jobs("prometheus.yml"), jobs("local.yml")
    assert set(compose) == set(local)
    for name in compose:
        compose_port = compose[name].pop("static_configs")[0]["targets"][0].rsplit(":", 1)[1]
        local_port = local[name].pop("static_configs")[0]["targets"][0].rsplit(":", 1)[1]
        assert compose_port == local_port, name
        assert compose[name] == local[name], name


def test_every_alert_has_a_unit_test():
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {r["alert"] for group in rules["groups"] for r in group["rules"] if "alert" in r}
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())
    tested = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"]}
    assert alerts == tested
