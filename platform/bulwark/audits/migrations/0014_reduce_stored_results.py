"""Existing audits join the reverse-delta scheme (docs/history.md): each host's audits with
results get their chain position in the order they finished, then every audit that has a
newer one is reduced to its differences, oldest first. Reversible: the reverse stores every
audit's results in full again."""

from typing import Any

from django.db import migrations

from bulwark.audits import history


def forwards(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        # A correlated subquery, not UPDATE ... FROM with an alias: SQLite (the embedded
        # default) must run this too.
        cursor.execute(
            "UPDATE audits_audit SET stored_seq = (SELECT x.n FROM ("
            " SELECT id, row_number() OVER (PARTITION BY host_id ORDER BY finished_at, id) n"
            " FROM audits_audit WHERE status = 'done') x WHERE x.id = audits_audit.id)"
            " WHERE status = 'done'"
        )
    history.reduce_pending()


def backwards(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id FROM audits_audit WHERE results_reduced ORDER BY id DESC")
        reduced = [row[0] for row in cursor.fetchall()]
    for audit_id in reduced:
        history.materialize(audit_id)


class Migration(migrations.Migration):
    dependencies = [("audits", "0013_results_reverse_delta")]

    operations = [migrations.RunPython(forwards, backwards)]
