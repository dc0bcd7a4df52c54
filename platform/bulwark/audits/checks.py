"""System checks of the database the audits live in (`manage.py check --database default`;
`migrate` runs them too, so an upgrade shows them).

Autovacuum: every store updates about 600 rows of the report counters and deletes most of the
previous audit's results (docs/history.md). Without autovacuum the counters' old row versions
pile up (8 times the table in a week of 10,000 stores) and the results keep an empty table's
statistics, so the reduction's DELETE takes a plan 500 times slower (docs/operations.md,
"PostgreSQL maintenance")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core import checks
from django.db import connections


@checks.register(checks.Tags.database)
def autovacuum_on(
    databases: Sequence[str] | None = None, **kwargs: Any
) -> Iterable[checks.CheckMessage]:
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        setting = autovacuum_setting(alias)
        if setting != "on":
            yield checks.Warning(
                f"autovacuum is {setting} on the database {alias!r}",
                hint="turn it on (autovacuum = on in postgresql.conf): stored audits update "
                "the report counters and delete older results, and without it the tables "
                "bloat and their statistics go stale (docs/operations.md)",
                id="bulwark.W001",
            )


def autovacuum_setting(alias: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        (setting,) = cursor.fetchone()
    return str(setting)
