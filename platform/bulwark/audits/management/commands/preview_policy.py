"""manage.py preview_policy FILE... [--group G]: what a new or changed policy would say about
the fleet, from the facts of each host's latest audit (no host is contacted)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.audits.preview import preview_sources
from bulwark.inventory.models import Group
from bulwark.policies.services import PolicyRefused


class _Shell:
    """The operator at the shell: a superuser for the preview's purpose."""

    is_active = True
    is_superuser = True


class Command(BaseCommand):
    help = "Preview policy files on the facts kept from each host's latest audit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--group", help="only this group's hosts (by name)")
        parser.add_argument("--json", action="store_true", help="every check's verdict as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        group_id = None
        if options["group"]:
            group = Group.objects.filter(name=options["group"]).first()
            if group is None:
                raise CommandError(f"no group {options['group']!r}")
            group_id = group.pk
        sources = []
        for path in options["files"]:
            try:
                sources.append((path.name, path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: cannot read it ({exc})") from None
        try:
            previews = preview_sources(_Shell(), sources, group_id=group_id)
        except PolicyRefused as exc:
            raise CommandError("\n".join([str(exc), *exc.problems])) from None
        if options["json"]:
            self.stdout.write(json.dumps([p.as_dict() for p in previews], indent=2))
            return
        self.stdout.write(f"{'host':<30} passed  failed  n/a  needs collection")
        for p in previews:
            if not p.kept:
                self.stdout.write(f"{p.name:<30} no facts kept (audit it first)")
                continue
            c = p.counts
            self.stdout.write(
                f"{p.name:<30} {c['passed']:>6}  {c['failed']:>6}  {c['not_applicable']:>3}"
                f"  {c['needs_collection']:>16}"
            )
