"""LatestCheckTotal: the check counters summed over their days (reports/models.py says why),
filled from the counters as they are."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def fill(apps: Any, schema_editor: Any) -> None:
    counts = apps.get_model("reports", "LatestCheckCount")._meta.db_table
    totals = apps.get_model("reports", "LatestCheckTotal")._meta.db_table
    schema_editor.execute(
        f"INSERT INTO {totals} (group_id, policy_check_id, passed, failed, not_applicable,"  # noqa: S608
        f" excepted)"
        f" SELECT group_id, policy_check_id, SUM(passed), SUM(failed), SUM(not_applicable),"
        f" SUM(excepted) FROM {counts} GROUP BY group_id, policy_check_id"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0012_host_scope_widened"),
        ("policies", "0002_check_profiles"),
        ("reports", "0005_check_counts_fillfactor"),
    ]

    operations = [
        migrations.CreateModel(
            name="LatestCheckTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("passed", models.IntegerField(default=0)),
                ("failed", models.IntegerField(default=0)),
                ("not_applicable", models.IntegerField(default=0)),
                ("excepted", models.IntegerField(default=0)),
                (
                    "group",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="inventory.group",
                    ),
                ),
                (
                    "policy_check",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="policies.check",
                    ),
                ),
            ],
            options={
                "ordering": ["group", "policy_check"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("group", "policy_check"), name="one_total_per_group_check"
                    )
                ],
            },
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
