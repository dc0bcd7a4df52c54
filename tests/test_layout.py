"""The repository layout: nothing on sys.path shadows the standard library or a dependency;
the layers keep to themselves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _fresh(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_platform_is_a_source_root_not_a_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_import_platform_is_the_stdlib_module_with_the_project_on_sys_path() -> None:
    code = (
        "import sys, runpy; sys.argv=['manage.py','--version'];"
        "import importlib.util, pathlib;"
        "sys.path.append(str(pathlib.Path('platform').resolve())); sys.path.insert(0, '.');"
        "import platform, bulwark, workers;"
        "print(platform.__file__); print(callable(platform.system))"
    )
    path, has_system = _fresh(code).splitlines()
    assert "site-packages" not in path and "/platform/" not in path.replace(str(ROOT), "")
    assert path.startswith(sys.base_prefix) or "lib/python" in path
    assert has_system == "True"


def test_manage_py_runs_django_check() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_no_top_level_name_shadows_the_stdlib_or_a_dependency() -> None:
    shadowed = set(sys.stdlib_module_names) | {"django", "celery", "paramiko", "yaml", "winrm"}
    roots = [ROOT, ROOT / "platform"]
    offenders = []
    for root in roots:
        for child in root.iterdir():
            name = child.stem if child.suffix == ".py" else child.name
            is_module = child.suffix == ".py" or (child / "__init__.py").exists()
            if is_module and name in shadowed:
                offenders.append(str(child.relative_to(ROOT)))
    assert offenders == []


def test_a_hung_test_fails_instead_of_holding_ci(pytestconfig: pytest.Config) -> None:
    # pytest-timeout, configured in pyproject.toml: under xdist a hang would otherwise hold
    # the whole run until CI's limit.
    assert pytestconfig.pluginmanager.hasplugin("timeout")
    assert 0 < float(pytestconfig.getini("timeout")) <= 1800


def test_only_the_transports_know_which_transport_they_are() -> None:
    """Callers ask a transport through the base class (seen_host_keys(), platform), never test
    for the SSH one: a new transport then works everywhere without touching its callers."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("platform", "workers")
        for path in (ROOT / folder).rglob("*.py")
        if "transports" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"isinstance\([^)]*, *\(?[A-Za-z]*Transport\b", line)
    ]
    assert offenders == []
