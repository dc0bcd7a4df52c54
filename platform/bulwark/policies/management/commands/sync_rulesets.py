"""manage.py sync_rulesets: mirror rulesets/ into the check catalogue (all or nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.policies.services import ImportReport, PolicyRefused, sync_rulesets


class Command(BaseCommand):
    help = "Load every policy under rulesets/ into the catalogue; refuse all if one is invalid."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", type=Path, help="another rulesets folder")
        parser.add_argument("--warnings", action="store_true", help="print policy warnings")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = sync_rulesets(options["path"])
        except PolicyRefused as exc:
            raise CommandError(refusal(exc)) from None
        print_report(self, report, options["warnings"])


def refusal(exc: PolicyRefused) -> str:
    return "policies refused, nothing imported:\n" + "\n".join(f"  {p}" for p in exc.problems)


def print_report(command: BaseCommand, report: ImportReport, warnings: bool) -> None:
    command.stdout.write(
        f"{len(report.policies)} policies ({', '.join(report.policies)}): "
        f"{report.checks_created} checks added, {report.checks_updated} updated, "
        f"{report.checks_retired} retired"
    )
    if report.disabled:
        command.stdout.write(f"disabled (gone from the folder): {', '.join(report.disabled)}")
    if report.warnings:
        command.stdout.write(f"{len(report.warnings)} warning(s)")
        if warnings:
            for warning in report.warnings:
                command.stdout.write(f"  warning: {warning}")
