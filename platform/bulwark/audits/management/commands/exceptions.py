"""manage.py exceptions export|import FILE: exceptions as code, kept in git (all or nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.audits import risk_files
from bulwark.audits.risks import RiskException


@dataclass(frozen=True)
class CommandLine:
    """Who acts when no --user is given: the operator at the shell, with full access (the
    trail records no user and the note says "command line")."""

    pk: None = None
    is_active: bool = True
    is_superuser: bool = True
    is_authenticated: bool = True


class Command(BaseCommand):
    help = "Export the pending and active exceptions to a YAML file, or import one (all or none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export", "import"])
        parser.add_argument("file", type=Path, help="'-' exports to standard output")
        parser.add_argument("--user", help="act as this user (their groups and roles apply)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if options["action"] == "export":
            rows = RiskException.objects.filter(
                status__in=[RiskException.Status.PENDING, RiskException.Status.ACTIVE]
            ).select_related("host", "group")
            text = risk_files.export_text(list(rows))
            if str(path) == "-":
                self.stdout.write(text, ending="")
            else:
                path.write_text(text, encoding="utf-8")
                self.stdout.write(f"{len(rows)} exception(s) written to {path}")
            return
        user: Any = CommandLine()
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"no user {options['user']!r}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: cannot read it ({exc})") from None
        try:
            report = risk_files.import_text(text, str(path), user)
        except risk_files.ExceptionFileRefused as exc:
            raise CommandError("\n".join([str(exc), *exc.problems])) from None
        self.stdout.write(
            f"{len(report.created)} exception(s) created, {report.skipped} already in effect"
        )
