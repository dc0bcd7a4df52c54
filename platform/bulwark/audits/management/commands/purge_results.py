"""manage.py purge_results [--days N]: delete per-check results older than the retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.audits.retention import purge_results


class Command(BaseCommand):
    help = (
        "Delete per-check results of audits older than RESULTS_RETENTION_DAYS (or --days); "
        "counts, scores, category summaries and each host's latest audit stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="retention in days (default: the setting)")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError(f"--days must be at least 1, got {days}")
        purged = purge_results(days)
        if purged.cutoff is None:
            self.stdout.write("RESULTS_RETENTION_DAYS is 0: results are kept forever")
            return
        self.stdout.write(
            f"purged {purged.results} results of {purged.audits} audits finished before "
            f"{purged.cutoff:%Y-%m-%d %H:%M}"
        )
