"""manage.py worker --zone NAME [--zone ...] [-- CELERY OPTIONS]: a Celery worker that audits only
the hosts of its zones (their queues, audits/zones.py)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.audits.zones import queue_for
from bulwark.inventory.models import DEFAULT_ZONE
from bulwark.inventory.validators import validate_zone


def worker_argv(zones: list[str], concurrency: int, pool: str, extra: list[str]) -> list[str]:
    """The `celery worker` arguments for these zones."""
    for zone in zones:
        try:
            validate_zone(zone)
        except ValidationError as exc:
            raise CommandError(f"--zone {zone}: {exc.messages[0]}") from None
    queues = ",".join(dict.fromkeys(queue_for(zone) for zone in zones))
    return ["worker", "-Q", queues, "--pool", pool, "--concurrency", str(concurrency), *extra]


class Command(BaseCommand):
    help = "Run a Celery worker that audits the hosts of the given zones only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--zone", action="append", help=f"a zone to serve (repeatable; default {DEFAULT_ZONE})"
        )
        parser.add_argument("--concurrency", type=int, default=8, help="audits at once")
        parser.add_argument("--pool", default="threads", help="Celery pool (audits wait on I/O)")
        parser.add_argument("celery_args", nargs="*", help="more `celery worker` options, after --")

    def handle(self, *args: Any, **options: Any) -> None:
        from bulwark.celery_app import app

        zones = options["zone"] or [DEFAULT_ZONE]
        argv = worker_argv(zones, options["concurrency"], options["pool"], options["celery_args"])
        app.worker_main(argv)
