"""The system checks of the audits' database (bulwark/audits/checks.py): `manage.py check
--database default` and `migrate` warn when PostgreSQL runs without autovacuum."""

from __future__ import annotations

import pytest
from django.core import checks as django_checks
from django.db import connection

from bulwark.audits import checks


def _warnings() -> list[str]:
    found = django_checks.run_checks(databases=["default"], tags=[django_checks.Tags.database])
    return [message.id for message in found if message.id == "bulwark.W001"]


@pytest.mark.django_db
def test_postgresql_without_autovacuum_is_warned_of(monkeypatch: pytest.MonkeyPatch) -> None:
    if connection.vendor != "postgresql":
        assert _warnings() == []  # SQLite has no autovacuum to turn on
        return
    assert checks.autovacuum_setting("default") in ("on", "off")  # the real server answers
    monkeypatch.setattr(checks, "autovacuum_setting", lambda alias: "off")
    assert _warnings() == ["bulwark.W001"]
    monkeypatch.setattr(checks, "autovacuum_setting", lambda alias: "on")
    assert _warnings() == []


@pytest.mark.django_db
def test_the_warning_is_left_out_without_a_database() -> None:
    found = django_checks.run_checks(tags=[django_checks.Tags.database])  # `check` alone
    assert [message for message in found if message.id == "bulwark.W001"] == []
