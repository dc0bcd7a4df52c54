"""Settings helpers: DATABASE_URL parsing and typed environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from bulwark.envconfig import (
    ConfigurationError,
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
)

BASE = Path("/srv/bulwark")


def test_a_postgres_url_gives_every_connection_field() -> None:
    db = database_from_url(
        "postgres://bulwark:p%40ss@db.example.com:6432/audits?sslmode=require", base_dir=BASE
    )
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("audits", "bulwark", "p@ss")
    assert (db["HOST"], db["PORT"]) == ("db.example.com", "6432")
    assert db["OPTIONS"] == {"sslmode": "require"}


def test_a_trust_auth_postgres_url_needs_no_password() -> None:
    db = database_from_url("postgresql://postgres@127.0.0.1:5432/test", base_dir=BASE)
    assert (db["USER"], db["PASSWORD"], db["NAME"]) == ("postgres", "", "test")


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("sqlite:///var/x.sqlite3", BASE / "var/x.sqlite3"),
        ("sqlite:////tmp/x.sqlite3", Path("/tmp/x.sqlite3")),
        ("sqlite://:memory:", ":memory:"),
    ],
)
def test_sqlite_urls_are_relative_to_the_project_unless_absolute(url: str, name: object) -> None:
    db = database_from_url(url, base_dir=BASE)
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == name
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.parametrize("url", ["mysql://x@y/z", "postgres://x@y:5432/"])
def test_it_refuses_database_urls_it_cannot_use(url: str) -> None:
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        database_from_url(url, base_dir=BASE)


def test_typed_variables_are_parsed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_FLOAT", "1.5")
    monkeypatch.setenv("X_LIST", " a, ,b ")
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 1) == 42
    assert env_float("X_FLOAT", 1.0) == 1.5
    assert env_list("X_LIST") == ["a", "b"]
    assert env_int("X_MISSING", 7) == 7
    monkeypatch.setenv("X_INT", "seven")
    with pytest.raises(ConfigurationError, match="X_INT"):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ConfigurationError, match="at least 1"):
        env_int("X_INT", 1, minimum=1)
    monkeypatch.setenv("X_BOOL", "maybe")
    with pytest.raises(ConfigurationError, match="X_BOOL"):
        env_bool("X_BOOL", False)


def test_the_defaults_are_the_embedded_ones() -> None:
    from django.conf import settings

    assert settings.AUDIT_INTERVAL_DAYS == 7
    assert settings.AUDIT_COMMAND_TIMEOUT == 150.0
    assert settings.CELERY_TASK_ALWAYS_EAGER is True
    assert settings.SCORE_CRITICAL_BELOW <= settings.SCORE_WARNING_BELOW


def test_the_delivery_defaults_keep_the_budget_below_the_lease() -> None:
    from django.conf import settings

    assert settings.AUDIT_REQUEUE_AFTER == 300.0
    assert settings.AUDIT_MAX_SECONDS == settings.AUDIT_LEASE_SECONDS * 2 / 3 == 1200.0
    assert settings.AUDIT_RETRY_BACKOFF_MAX == 600.0
    assert settings.CELERY_BROKER_CONNECTION_MAX_RETRIES is None  # reconnect for ever


def test_a_budget_as_long_as_the_lease_is_refused_at_start() -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": f"{root}{os.pathsep}{root / 'platform'}",
        "AUDIT_LEASE_SECONDS": "60",
        "AUDIT_MAX_SECONDS": "60",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import bulwark.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "AUDIT_MAX_SECONDS (60) must be below AUDIT_LEASE_SECONDS (60)" in done.stderr
