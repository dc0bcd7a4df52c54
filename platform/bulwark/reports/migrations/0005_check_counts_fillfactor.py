"""Room on the check counters' pages for the versions their updates make.

Every stored audit updates about twice as many LatestCheckCount rows as it has checks (its
day's counters up, the previous audit's down), and every host of a group updates the same rows.
With full pages each update's new version goes to another page (a new entry in every index,
kept until a VACUUM: the upsert then visits them all); with half of each page free it stays on
its page (a HOT update, pruned on the next visit). Measured: the store's counter statement
went from about 35 ms to 12-20 ms (docs/history.md). PostgreSQL only; SQLite has no such
setting.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLE = "reports_latestcheckcount"


def set_fillfactor(value: int) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = {int(value)})")

    return run


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_raw_score_and_excepted")]

    operations = [migrations.RunPython(set_fillfactor(50), set_fillfactor(100))]
