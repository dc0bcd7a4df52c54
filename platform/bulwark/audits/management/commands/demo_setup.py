"""manage.py demo_setup: a working Bulwark on this machine in one command (used by make demo).

Migrates, creates the admin user (its password is printed once), syncs rulesets/, registers
this machine as a `local` host with a default schedule, and audits it.
"""

from __future__ import annotations

import secrets
import socket
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from bulwark.audits.models import Schedule
from bulwark.inventory.models import Group, Host


class Command(BaseCommand):
    help = "Set up a demo: database, admin user, policies, this machine as a host, one audit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--no-audit", action="store_true", help="skip the first audit")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        self.admin_user(options["username"])
        call_command("sync_rulesets", stdout=self.stdout)
        host = self.local_host()
        if not options["no_audit"]:
            call_command("audit", host.name, wait=True, stdout=self.stdout)

    def admin_user(self, username: str) -> None:
        users = get_user_model()
        if users.objects.filter(username=username).exists():
            self.stdout.write(f"admin user {username!r} exists (password unchanged)")
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            f"admin user created: {username} / {password}   (shown once: note it down)"
        )

    def local_host(self) -> Host:
        group, _ = Group.objects.get_or_create(
            name="local", defaults={"description": "the machine Bulwark runs on"}
        )
        name = socket.gethostname() or "localhost"
        host, created = Host.objects.get_or_create(
            name=name,
            defaults={
                "address": "localhost",
                "port": 22,
                "transport": Host.Transport.LOCAL,
                "group": group,
            },
        )
        if created:
            host.full_clean()
            Schedule.objects.create(host=host)
        self.stdout.write(f"host {host.name} ({host.get_transport_display()}) registered")
        return host
