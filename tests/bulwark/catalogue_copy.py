"""The bundled catalogue for the platform tests, synced once per test database.

`sync_rulesets()` into an empty database takes about 0.3 s (1,800 checks), and dozens of tests
start from the bundled catalogue: a quarter of `make test-fast` went there. So each test database
(one per xdist worker) runs the real sync once, keeps the rows it wrote in two tables of its own,
and the `catalogue` fixture copies them back (INSERT ... SELECT, a few milliseconds) into the
test's transaction. The rows are the sync's own, ids included; what sync_rulesets does is tested
on its own (tests/bulwark/policies/). The copies are not Django tables, so a transactional
test's flush leaves them for the next test."""

from __future__ import annotations

from django.db import connection, transaction

from bulwark.policies.models import Check, Policy
from bulwark.policies.services import sync_rulesets

_TABLES = (Policy._meta.db_table, Check._meta.db_table)  # parents first


def _copy_of(table: str) -> str:
    return f"bulwark_test_copy_{table}"


def keep_a_copy() -> None:
    """Sync the bundled policies, copy their rows aside, leave the catalogue empty."""
    with transaction.atomic(), connection.cursor() as cursor:
        sync_rulesets()
        for table in _TABLES:
            cursor.execute(f"DROP TABLE IF EXISTS {_copy_of(table)}")
            cursor.execute(f"CREATE TABLE {_copy_of(table)} AS SELECT * FROM {table}")  # noqa: S608
        for table in reversed(_TABLES):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608


def restore() -> None:
    """The synced rows, back in the catalogue; on PostgreSQL, the id sequences moved past them
    (explicit ids do not advance them), so rows the test creates get ids of their own."""
    with connection.cursor() as cursor:
        for table in _TABLES:
            cursor.execute(f"INSERT INTO {table} SELECT * FROM {_copy_of(table)}")  # noqa: S608
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM {table}",  # noqa: S608
                    [table],
                )
