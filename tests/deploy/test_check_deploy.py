"""Deployment settings: `manage.py check --deploy` is clean with deploy/env.example's production
values, SECRET_KEY is required outside the embedded default, and secrets come from *_FILE."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _example_env() -> dict[str, str]:
    values = {}
    for line in (ROOT / "deploy/env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def _django(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'platform'}",
        "BULWARK_DATA_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_production_example(tmp_path: Path) -> None:
    env = {k: v for k, v in _example_env().items() if k not in ("BULWARK_DATA_DIR", "STATIC_ROOT")}
    done = _django(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_a_database_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgres://bulwark:x@127.0.0.1:1/bulwark"}
    done = _django(["check"], env, tmp_path)
    assert done.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) is required" in done.stderr


def test_secrets_come_from_files(tmp_path: Path) -> None:
    key_file = tmp_path / "secret-key"
    key_file.write_text("k" * 20 + "from-a-file-0123456789-abcdefghijklmnopqrstuvwxyz\n")
    env = {
        "DATABASE_URL": "postgres://bulwark:x@127.0.0.1:1/bulwark",
        "SECRET_KEY_FILE": str(key_file),
    }
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    done = _django(["shell", "-c", code], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("from-a-file-0123456789-abcdefghijklmnopqrstuvwxyz")
    both = _django(["check"], {**env, "SECRET_KEY": "x" * 60}, tmp_path)
    assert both.returncode != 0 and "keep one" in both.stderr


def test_the_embedded_default_generates_a_private_secret_key(tmp_path: Path) -> None:
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = _django(["shell", "-c", code], {}, tmp_path)
    again = _django(["shell", "-c", code], {}, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout and len(first.stdout.strip()) >= 50
    assert "insecure" not in first.stdout
    assert (tmp_path / "secret-key").stat().st_mode & 0o077 == 0
