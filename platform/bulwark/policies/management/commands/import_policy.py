"""manage.py import_policy FILE...: add or update user policies (all or nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.policies.management.commands.sync_rulesets import print_report, refusal
from bulwark.policies.services import PolicyRefused, import_policies


class Command(BaseCommand):
    help = "Import policy YAML files; if any has an error, nothing is imported."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--warnings", action="store_true", help="print policy warnings")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = import_policies(options["files"])
        except PolicyRefused as exc:
            raise CommandError(refusal(exc)) from None
        print_report(self, report, options["warnings"])
