"""The Kubernetes manifests, checked without a cluster: every resource against the API schemas
bundled with kubernetes-validate, then what this project requires of every workload."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from common.healthcheck import parse
from deploy.tests.project import (
    ROOT,
    config_env_vars,
    image_package,
    load_yaml_documents,
    service_packages,
)

K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes these manifests are meant for, and the newest schema bundled.
KUBERNETES_VERSIONS = ["1.29.0", kubernetes_validate.utils.latest_version()]
WORKLOADS = {"Deployment", "StatefulSet"}
PROJECT_IMAGE = "nameko-microservices/"
BROWSER_URLS = {"BROKER_URL", "MAIL_UI_URL"}


def manifest_files() -> list[str]:
    return sorted(path.name for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


@cache
def resources() -> tuple[dict[str, Any], ...]:
    return tuple(
        document for name in manifest_files() for document in load_yaml_documents(K8S / name)
    )


def of_kind(*kinds: str) -> list[dict[str, Any]]:
    return [resource for resource in resources() if resource["kind"] in kinds]


def named(kind: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in of_kind(kind) if r["metadata"]["name"] == name]
    return found


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    return workload["spec"]["template"]["spec"]["containers"]


def all_containers(*kinds: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{workload['kind']}/{workload['metadata']['name']}", container)
        for workload in of_kind(*kinds)
        for container in containers(workload)
    ]


def ours() -> list[tuple[str, dict[str, Any]]]:
    """The containers that run one of the project's images."""
    return [
        (where, container)
        for where, container in all_containers(*WORKLOADS, "Job")
        if container["image"].startswith(PROJECT_IMAGE)
    ]


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """Every env var a container gets, with its value (or where the value comes from)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(named("ConfigMap", source["configMapRef"]["name"])["data"])
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("value") or str(variable["valueFrom"])
    return env


def ids(pairs: list[tuple[str, Any]]) -> list[str]:
    return [where for where, _ in pairs]


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == manifest_files()


def test_kustomization_sets_the_tag_of_every_project_image():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    images = {container["image"].split(":")[0] for _, container in ours()}
    assert images == {entry["name"] for entry in kustomization["images"]}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("name", manifest_files())
def test_manifests_validate_against_the_kubernetes_schemas(name, version):
    for resource in load_yaml_documents(K8S / name):
        kubernetes_validate.validate(resource, version, strict=True)


@pytest.mark.parametrize(
    ("where", "container"), all_containers(*WORKLOADS), ids=ids(all_containers(*WORKLOADS))
)
def test_every_long_running_container_has_probes_and_resources(where, container):
    assert container["readinessProbe"] and container["livenessProbe"]
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}


@pytest.mark.parametrize(
    ("where", "container"), all_containers("Job"), ids=ids(all_containers("Job"))
)
def test_job_containers_have_resources(where, container):
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}


@pytest.mark.parametrize(("where", "container"), ours(), ids=ids(ours()))
def test_project_containers_get_every_env_var_their_config_reads(where, container):
    package = image_package(container["image"])
    missing = config_env_vars(package) - set(container_env(container))
    assert not missing, f"{where} lacks {sorted(missing)}"


@pytest.mark.parametrize(("where", "container"), ours(), ids=ids(ours()))
def test_project_containers_run_locked_down(where, container):
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize(
    ("where", "container"), all_containers(*WORKLOADS), ids=ids(all_containers(*WORKLOADS))
)
def test_probes_check_something_the_container_has(where, container):
    ports = {port["name"] for port in container.get("ports", [])}
    numbers = {port["containerPort"] for port in container.get("ports", [])}
    for probe in (container["readinessProbe"], container["livenessProbe"]):
        if "httpGet" in probe or "tcpSocket" in probe:
            assert (probe.get("httpGet") or probe["tcpSocket"])["port"] in ports
        elif "grpc" in probe:  # Kubernetes' native gRPC probe takes a port number only
            assert probe["grpc"]["port"] in numbers
        elif probe["exec"]["command"][:3] == ["python", "-m", "common.healthcheck"]:
            for check in probe["exec"]["command"][3:]:
                kind, argument = parse(check)
                if kind != "amqp":
                    assert argument.split("/", 1)[0] in container_env(container)


@pytest.mark.parametrize(
    "deployment",
    [d for d in of_kind("Deployment") if containers(d)[0]["image"].startswith(PROJECT_IMAGE)],
    ids=lambda deployment: deployment["metadata"]["name"],
)
def test_stateless_services_run_several_replicas(deployment):
    assert deployment["spec"]["replicas"] >= 2


@pytest.mark.parametrize("package", service_packages())
def test_every_service_package_is_deployed(package):
    assert package in {image_package(container["image"]) for _, container in ours()}


def test_broker_does_not_reach_the_mailer_in_the_cluster():
    assert named("ConfigMap", "broker-config")["data"]["BROKER_MAIL_ENABLED"] == "false"


def test_secret_references_name_existing_keys():
    secrets = {s["metadata"]["name"]: set(s["stringData"]) for s in of_kind("Secret")}
    for _, container in all_containers(*WORKLOADS, "Job"):
        for variable in container.get("env", []):
            if "secretKeyRef" in variable.get("valueFrom", {}):
                reference = variable["valueFrom"]["secretKeyRef"]
                assert reference["key"] in secrets[reference["name"]]


@pytest.mark.parametrize("service", of_kind("Service"), ids=lambda s: s["metadata"]["name"])
def test_services_select_a_workload_and_its_named_ports(service):
    (workload,) = [
        w
        for w in of_kind(*WORKLOADS)
        if w["spec"]["template"]["metadata"]["labels"].items()
        >= service["spec"]["selector"].items()
    ]
    ports = {port["name"] for c in containers(workload) for port in c.get("ports", [])}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= ports


def test_server_addresses_name_cluster_services():
    services = {service["metadata"]["name"] for service in of_kind("Service")}
    values = [
        value
        for configuration in of_kind("ConfigMap")
        for name, value in configuration["data"].items()
        if name not in BROWSER_URLS
    ]
    values += list(named("Secret", "nameko-secrets")["stringData"].values())
    urls = [
        url for value in values if "://" in value and " " not in value for url in value.split(";")
    ]
    hosts = [urlsplit(url).hostname for url in urls]
    hosts.append(named("ConfigMap", "broker-config")["data"]["LOGGER_GRPC_TARGET"].split(":")[0])
    # A StatefulSet's pod by name: <pod>.<headless service>
    services_named = [host.split(".")[1] if "." in host else host for host in hosts]
    assert services_named and set(services_named) <= services


def test_services_are_given_every_rabbitmq_node():
    rabbitmq = named("StatefulSet", "rabbitmq")
    assert rabbitmq["spec"]["replicas"] == 3
    headless = named("Service", rabbitmq["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    uri = named("Secret", "nameko-secrets")["stringData"]["AMQP_URI"]
    hosts = [urlsplit(url).hostname for url in uri.split(";")]
    service = headless["metadata"]["name"]
    assert hosts == [f"rabbitmq-{n}.{service}" for n in range(3)]


def test_rabbitmq_nodes_discover_each_other_through_the_kubernetes_api():
    config = named("ConfigMap", "rabbitmq-config")["data"]
    assert "rabbitmq_peer_discovery_k8s" in config["enabled_plugins"]
    settings = dict(
        line.split(" = ", 1) for line in config["cluster.conf"].splitlines() if " = " in line
    )
    assert settings["cluster_formation.peer_discovery_backend"] == "rabbit_peer_discovery_k8s"
    assert settings["cluster_formation.k8s.service_name"] == "rabbitmq-nodes"
    pod = named("StatefulSet", "rabbitmq")["spec"]["template"]["spec"]
    (binding,) = of_kind("RoleBinding")
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"]


@pytest.mark.parametrize(("where", "container"), ours(), ids=ids(ours()))
def test_project_pods_are_scraped_on_a_port_they_serve_metrics_on(where, container):
    kind, name = where.split("/", 1)
    if kind != "Deployment":
        return
    (deployment,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == name]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    ports = {port["containerPort"] for port in container["ports"]}
    assert int(annotations["prometheus.io/port"]) in ports


def test_the_grpc_server_is_ready_by_the_standard_grpc_health_check():
    (deployment,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "logger-grpc"]
    (container,) = containers(deployment)
    assert container["readinessProbe"]["grpc"] == {"port": 50001}
