"""manage.py security_log [--since YYYY-MM-DD] [--kind KIND]: the security audit log as JSON
lines, oldest first (for a SIEM or an archive)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.core.models import SecurityEvent


class Command(BaseCommand):
    help = "Print the security audit log as JSON lines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="first day (YYYY-MM-DD, UTC)")
        parser.add_argument("--kind", help="only this kind, e.g. signin.failed")

    def handle(self, *args: Any, **options: Any) -> None:
        events = SecurityEvent.objects.order_by("at", "id")
        if options["since"]:
            try:
                day = dt.date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(f"--since: not a YYYY-MM-DD date: {options['since']}") from None
            events = events.filter(at__date__gte=day)
        if options["kind"]:
            events = events.filter(kind=options["kind"])
        for event in events.iterator():
            self.stdout.write(json.dumps(event.as_dict(), ensure_ascii=False))
