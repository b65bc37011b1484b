"""Where test code may import from: helpers come from `testing/`, fixtures from conftest files
(which pytest loads, nobody imports), and no package's tests lean on another package's tests."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

from common.config import ROOT

NOT_OURS = {".git", ".venv", ".local", "dev", "artifacts", "node_modules", "__pycache__"}


def python_files() -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [name for name in subdirectories if name not in NOT_OURS]
        yield from (Path(directory, name) for name in files if name.endswith(".py"))


def imported_modules(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def imports_by_file() -> dict[str, list[str]]:
    return {
        path.relative_to(ROOT).as_posix(): list(imported_modules(path)) for path in python_files()
    }


def test_nothing_imports_a_conftest():
    offenders = {
        path: [module for module in modules if module.split(".")[-1] == "conftest"]
        for path, modules in imports_by_file().items()
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_no_package_imports_another_package_s_tests():
    """`testing/` included: a helper two packages need belongs in `testing/`."""
    offenders = {}
    for path, modules in imports_by_file().items():
        package = path.split("/")[0]
        foreign = [
            module
            for module in modules
            if "tests" in module.split(".")[1:] and module.split(".")[0] != package
        ]
        if foreign:
            offenders[path] = foreign
    assert offenders == {}
