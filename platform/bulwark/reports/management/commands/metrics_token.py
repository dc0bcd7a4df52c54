"""manage.py metrics_token USERNAME [--name N]: a bearer token for /metrics that scrapes as
that user (their groups only). Printed once; only its SHA-256 is stored."""

from __future__ import annotations

import secrets as token_source
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bulwark.reports.models import MetricsToken, token_digest


class Command(BaseCommand):
    help = "Create a /metrics bearer token that scrapes as USERNAME."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="prometheus")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user {options['username']!r}")
        token = token_source.token_urlsafe(32)
        MetricsToken.objects.create(user=user, name=options["name"], digest=token_digest(token))
        self.stdout.write(token)
