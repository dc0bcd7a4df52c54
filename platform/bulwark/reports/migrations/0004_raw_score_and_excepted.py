"""The daily aggregates keep excepted counts and the raw score too (reports show them beside
the score); existing rows take them from their audit, group days from their host days."""

from django.db import migrations, models

BACKFILL = """
UPDATE reports_dailyhostsummary SET
  excepted = (SELECT a.excepted FROM audits_audit a WHERE a.id = reports_dailyhostsummary.audit_id),
  raw_score = (SELECT a.raw_score FROM audits_audit a
               WHERE a.id = reports_dailyhostsummary.audit_id);
UPDATE reports_dailygroupsummary SET
  excepted = COALESCE((SELECT SUM(d.excepted) FROM reports_dailyhostsummary d
    WHERE d.group_id = reports_dailygroupsummary.group_id
    AND d.day = reports_dailygroupsummary.day), 0),
  raw_scored_hosts = (SELECT COUNT(d.raw_score) FROM reports_dailyhostsummary d
    WHERE d.group_id = reports_dailygroupsummary.group_id
    AND d.day = reports_dailygroupsummary.day),
  raw_score_sum = COALESCE((SELECT SUM(d.raw_score) FROM reports_dailyhostsummary d
    WHERE d.group_id = reports_dailygroupsummary.group_id
    AND d.day = reports_dailygroupsummary.day), 0);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0003_check_counts_excepted"),
        ("audits", "0011_audit_results_purged_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="dailygroupsummary",
            name="excepted",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="dailygroupsummary",
            name="raw_score_sum",
            field=models.FloatField(db_default=0.0, default=0.0),
        ),
        migrations.AddField(
            model_name="dailygroupsummary",
            name="raw_scored_hosts",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="dailyhostsummary",
            name="excepted",
            field=models.PositiveIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="dailyhostsummary",
            name="raw_score",
            field=models.FloatField(blank=True, null=True),
        ),
        # Reversed, the columns go: nothing to undo.
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
