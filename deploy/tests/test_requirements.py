"""Each image installs what its service imports and nothing else: requirements/<service>.txt (with
requirements/base.txt) against the third-party modules the service's code imports, every version
pinned by the one constraints.txt. (That each Dockerfile installs its own file:
test_dockerfiles.py.)"""

from __future__ import annotations

from functools import cache
from importlib.metadata import packages_distributions

import pytest
from packaging.utils import canonicalize_name

from deploy.tests.project import (
    ROOT,
    constraints,
    requirement_files,
    requirements,
    service_packages,
    service_requirements,
    third_party_imports,
)

# Installed in an image although the service's code never imports them, and why.
RUNTIME_ONLY = {
    "setuptools": "nameko's CLI imports pkg_resources, and nameko does not require setuptools",
    "psycopg2-binary": "SQLAlchemy loads it for the postgresql+psycopg2:// URIs auth is given",
}
LOCAL = ROOT / "requirements.txt"
DEVELOPMENT = ROOT / "requirements-dev.txt"


@cache
def _distributions() -> dict[str, list[str]]:
    return packages_distributions()


def distributions_of(module: str) -> set[str]:
    """The installed distributions that provide a top-level module (canonical names)."""
    return {canonicalize_name(name) for name in _distributions().get(module, [])}


def installed_by(package: str) -> set[str]:
    return {canonicalize_name(r.name) for r in requirements(service_requirements(package))}


@pytest.mark.parametrize("package", service_packages())
def test_the_service_s_requirements_cover_every_module_it_imports(package):
    installed = installed_by(package)
    uncovered = {
        module: sorted(distributions_of(module)) or "no installed distribution"
        for module in third_party_imports(package)
        if not distributions_of(module) & installed
    }
    assert uncovered == {}


@pytest.mark.parametrize("package", service_packages())
def test_the_image_installs_nothing_its_service_never_imports(package):
    imported = set().union(*map(distributions_of, third_party_imports(package)))
    assert installed_by(package) - imported - RUNTIME_ONLY.keys() == set()


def test_every_runtime_only_allowance_is_needed_by_some_image():
    assert set(RUNTIME_ONLY) <= set().union(*map(installed_by, service_packages()))


@pytest.mark.parametrize(
    "path",
    [*sorted((ROOT / "requirements").glob("*.txt")), LOCAL, DEVELOPMENT],
    ids=lambda path: path.relative_to(ROOT).as_posix(),
)
def test_constraints_pin_every_requirement_within_its_bounds(path):
    pins = constraints()
    unpinned = [str(r) for r in requirements(path) if canonicalize_name(r.name) not in pins]
    assert unpinned == [], "add them to constraints.txt (make constraints)"
    outside = {
        str(r): pins[canonicalize_name(r.name)]
        for r in requirements(path)
        if not r.specifier.contains(pins[canonicalize_name(r.name)], prereleases=True)
    }
    assert outside == {}


def test_the_local_virtualenv_installs_every_service_s_requirements_and_the_tools():
    assert {service_requirements(package) for package in service_packages()} <= set(
        requirement_files(LOCAL)
    )
    assert LOCAL in requirement_files(DEVELOPMENT)
