"""The security audit log: sign-ins, failed sign-ins, credential and destination changes,
bindings, memberships and policy imports are recorded; superusers alone read it; the JSON
lines export holds no secret."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from bulwark.core.models import SecurityEvent
from tests.bulwark.world import PASSWORD, World


def _kinds() -> list[str]:
    return list(SecurityEvent.objects.order_by("id").values_list("kind", flat=True))


def test_security_actions_are_recorded_without_secrets(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    SecurityEvent.objects.all().delete()  # the world's own set-up
    anonymous = APIClient()
    anonymous.post("/api/auth/token/", {"username": "a_admin", "password": "wrong-Guess-1"})
    anonymous.post("/api/auth/token/", {"username": "a_admin", "password": PASSWORD})
    admin = client_for("a_admin")
    admin.patch(f"/api/hosts/{world.a.host.pk}/", {"address": "10.77.5.5"}, format="json")
    admin.patch(
        f"/api/credentials/{world.a.credential.pk}/",
        {"secret": "New-Secret-77", "sudo_password": "New-Sudo-88"},
        format="json",
    )
    admin.post("/api/memberships/", {"group": world.a.group.pk, "user": "a_operator"})
    kinds = _kinds()
    for kind in ("signin.failed", "host.destination_changed", "credential.changed"):
        assert kind in kinds, kinds
    assert "credential.bound" in kinds  # all secrets re-entered: its hosts are bound
    failed = SecurityEvent.objects.get(kind="signin.failed")
    assert failed.actor_name == "a_admin" and failed.address == "127.0.0.1"
    out = io.StringIO()
    call_command("security_log", stdout=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["kind"] for line in lines] == kinds
    text = out.getvalue()
    for secret in ["wrong-Guess-1", PASSWORD, "New-Secret-77", "New-Sudo-88", *world.secrets()]:
        assert secret not in text
    assert '"secrets_entered": ["secret", "sudo_password"]' in text


def test_only_superusers_read_the_log(world: World) -> None:
    url = "/admin/core/securityevent/"
    group_admin = Client()
    group_admin.force_login(world.users["a_admin"])
    assert group_admin.get(url).status_code in (302, 403)
    root = Client()
    root.force_login(world.users["root"])
    assert root.get(url).status_code == 200
