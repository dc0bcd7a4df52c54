"""manage.py demo_setup [--serve ADDR]: a working Bulwark on this machine in one command (make
demo runs it with --serve).

Migrates, creates the admin user (its password is printed once), syncs rulesets/, registers this
machine as a `local` host and, as root, a lab of SSH test hosts with different hardening, and
audits them all. With --serve it then runs the web server in the foreground, keeping the lab up,
until stopped (Ctrl-C, SIGTERM or SIGHUP), when the lab is removed; a lab left by a demo killed
outright (SIGKILL) is removed at the next start.
"""

from __future__ import annotations

import secrets
import socket
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from bulwark.audits.management import demo_hosts
from bulwark.audits.models import Schedule
from bulwark.audits.schedules import next_run
from bulwark.inventory.models import Group, Host


class Command(BaseCommand):
    help = "Set up a demo: database, admin user, policies, hosts (this machine, a lab), audits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--no-audit", action="store_true", help="skip the first audits")
        parser.add_argument("--no-lab", action="store_true", help="no SSH test hosts")
        parser.add_argument(
            "--serve",
            metavar="ADDR:PORT",
            help="then run the web server here (foreground, keeps the lab up), e.g. 127.0.0.1:8000",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The demo audits the machine it runs on: local audits on for this process (the web
        # server it serves runs audits in-process too). Production leaves ALLOW_LOCAL_AUDITS off.
        settings.ALLOW_LOCAL_AUDITS = True
        demo_hosts.exit_on_signals()
        removed = demo_hosts.remove_stale_lab()
        if removed:
            self.stdout.write(f"removed a lab left by a killed demo: {', '.join(removed)}")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        self.admin_user(options["username"])
        call_command("sync_rulesets", stdout=self.stdout)
        names = [self.local_host().name]
        lab = None
        if not options["no_lab"]:
            reason = demo_hosts.unavailable()
            if reason:
                self.stdout.write(f"no lab of SSH test hosts: {reason}")
            elif options["serve"] is None:
                self.stdout.write("no lab of SSH test hosts: they live only while --serve runs")
            else:
                lab, hosts = demo_hosts.start_lab()
                names += [host.name for host in hosts]
                for host in hosts:
                    self.stdout.write(f"host {host.name} ({host.address}:{host.port}) registered")
        try:
            if not options["no_audit"]:
                self.audit(names)
            if options["serve"]:
                self.serve(options["serve"], options["username"])
        finally:
            if lab is not None:
                with demo_hosts.signals_held():
                    lab.close()
                self.stdout.write("lab stopped")

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
                "transport": Host.TransportKind.LOCAL,
                "group": group,
            },
        )
        if created:
            host.full_clean()
            Schedule.objects.create(host=host)
        self.stdout.write(f"host {host.name} ({host.get_transport_display()}) registered")
        return host

    def audit(self, names: list[str]) -> None:
        try:
            call_command("audit", *names, wait=True, stdout=self.stdout)
        except CommandError as exc:  # one host's failure does not stop the demo
            self.stdout.write(f"audit: {exc}")

    def next_runs(self) -> None:
        """When each schedule fires next (in the server's time zone)."""
        for schedule in Schedule.objects.select_related("host", "group", "periodic_task__interval"):
            due = next_run(schedule)
            when = timezone.localtime(due).strftime("%Y-%m-%d %H:%M %Z") if due else "disabled"
            self.stdout.write(f"schedule: {schedule}, next run {when}")

    def serve(self, address: str, username: str) -> None:
        host, _, port = address.rpartition(":")
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104 - a display name
        url = f"http://{shown}:{port}/"
        if settings.EMBEDDED_TASKS:
            self.stdout.write(
                "audits and schedules run inside the web server (no CELERY_BROKER_URL set)"
            )
        self.next_runs()
        self.stdout.write(
            f"\nBulwark is running at {url}  (admin: {url}admin/, API: {url}api/docs/)\n"
            f"sign in as {username!r}; stop with Ctrl-C\n"
        )
        self.stdout.flush()
        call_command("runserver", address, use_reloader=False, skip_checks=True)
