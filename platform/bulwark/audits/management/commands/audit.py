"""manage.py audit HOST... [--group G] | --group G [--wait]: start audits, show progress and the
summary. Host names are unique per group: a name two groups use needs --group."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.audits.models import ACTIVE, Audit, AuditStatus, CategorySummary
from bulwark.audits.services import start_audits
from bulwark.inventory.models import Host


class Command(BaseCommand):
    help = "Audit hosts (by name) or every host of a group, and print the results."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("hosts", nargs="*", metavar="HOST")
        parser.add_argument(
            "--group", help="audit every host of this group, or only the HOSTs named in it"
        )
        parser.add_argument("--wait", action="store_true", help="wait for the audits to finish")
        parser.add_argument("--timeout", type=float, help="seconds per command (default 150)")
        parser.add_argument("--max-wait", type=float, default=3600.0, help="give up after S")

    def handle(self, *args: Any, **options: Any) -> None:
        hosts = self.hosts(options["hosts"], options["group"])
        audits = start_audits(
            hosts, trigger=Audit.Trigger.COMMAND, command_timeout=options["timeout"]
        )
        ids = [audit.pk for audit in audits]
        for audit in audits:
            self.stdout.write(f"{audit.host.name}: audit {audit.pk} started")
        # The embedded default has no worker to finish a retry after this command exits (it
        # runs in a timer thread here): wait for it.
        if options["wait"] or settings.CELERY_TASK_ALWAYS_EAGER:
            self.wait(ids, options["max_wait"])
        finished = Audit.objects.filter(pk__in=ids).exclude(status__in=ACTIVE)
        for audit in finished.select_related("host").order_by("host__name"):
            self.summary(audit)
        if finished.filter(status=AuditStatus.ERROR).exists():
            raise CommandError("some audits failed")

    def hosts(self, names: list[str], group: str | None) -> list[Host]:
        if not names and not group:
            raise CommandError("name hosts, or give --group")
        if group and not names:
            hosts = list(Host.objects.filter(group__name=group))
            if not hosts:
                raise CommandError(f"group {group!r} has no hosts (or does not exist)")
            return hosts
        return [self.host(name, group) for name in names]

    def host(self, name: str, group: str | None) -> Host:
        rows = Host.objects.filter(name=name).select_related("group")
        if group:
            rows = rows.filter(group__name=group)
        found = list(rows)
        if not found:
            raise CommandError(f"no such host: {name}" + (f" in group {group!r}" if group else ""))
        if len(found) > 1:
            groups = ", ".join(sorted(h.group.name for h in found))
            raise CommandError(f"host {name!r} is in several groups ({groups}): give --group")
        return found[0]

    def wait(self, ids: list[int], max_wait: float) -> None:
        seen: dict[int, str] = {}
        deadline = time.monotonic() + max_wait
        while True:
            rows = Audit.objects.filter(pk__in=ids).values_list("pk", "host__name", "status")
            for pk, name, status in rows:
                if seen.get(pk) != status:
                    seen[pk] = status
                    self.stdout.write(f"{name}: {status}")
            if all(status not in ACTIVE for status in seen.values()):
                return
            if time.monotonic() > deadline:
                raise CommandError("gave up waiting; the audits go on in the workers")
            time.sleep(1)

    def summary(self, audit: Audit) -> None:
        name = audit.host.name
        if audit.status == AuditStatus.ERROR:
            self.stdout.write(f"{name}: ERROR {audit.error_reason}")
            return
        score = "none" if audit.score is None else f"{audit.score:g}"
        self.stdout.write(
            f"{name}: score {score}  passed {audit.passed}, failed {audit.failed}, "
            f"not applicable {audit.not_applicable}"
        )
        for row in CategorySummary.objects.filter(audit=audit):
            percent = "   -" if row.score is None else f"{row.score:4.0f}"
            self.stdout.write(
                f"  ✓ {row.passed:4d}  ✗ {row.failed:4d}  {percent} %  {row.category}"
            )
