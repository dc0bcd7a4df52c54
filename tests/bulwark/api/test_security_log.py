"""The security audit log: sign-ins, failed sign-ins, credential and destination changes,
bindings, memberships, policy imports and switches, API tokens, lock-outs and account changes
are recorded; superusers alone read it; the JSON
lines export holds no secret."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

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


def test_tokens_lockouts_accounts_and_policy_changes_are_recorded(
    world: World, client_for: Callable[[str], APIClient], tmp_path: Path
) -> None:
    from django.contrib.auth import get_user_model

    from bulwark.policies.models import Policy
    from tests.bulwark.world import TINY_POLICY

    SecurityEvent.objects.all().delete()
    anonymous = APIClient()
    issued = anonymous.post("/api/auth/token/", {"username": "a_viewer", "password": PASSWORD})
    assert issued.status_code == 200
    root = client_for("root")
    policy = Policy.objects.get(policy_id="tiny_policy")
    switched = root.patch(f"/api/policies/{policy.pk}/", {"enabled": False}, format="json")
    assert switched.status_code == 200
    # A policy imported from files by the command is logged like an upload.
    path = tmp_path / "tiny_policy.yml"
    path.write_text(TINY_POLICY.replace("tiny_policy", "tiny_policy_two"))
    call_command("import_policy", str(path), stdout=io.StringIO())
    # An account made superuser, and given a new password (its hash is never logged).
    user = get_user_model().objects.get(username="a_operator")
    user.is_superuser = True
    user.set_password("Another-Pass-99")
    user.save()
    # Guessing until the address is locked out.
    for _ in range(6):
        anonymous.post("/api/auth/token/", {"username": "b_admin", "password": "guess-Pass-1"})
    events = {e.kind: e for e in SecurityEvent.objects.order_by("id")}
    assert events["token.issued"].target == "a_viewer"
    assert events["policy.switched"].target == "tiny_policy"
    assert events["policy.switched"].actor_name == "root"
    assert events["policy.switched"].detail == {"enabled": False}
    assert events["policy.imported"].target == "tiny_policy_two"
    assert events["account.changed"].target == "a_operator"
    assert events["account.changed"].detail == {
        "fields": ["password", "is_superuser"],
        "is_superuser": True,
    }
    assert events["signin.locked_out"].target == "b_admin"
    text = "\n".join(str(e.detail) for e in SecurityEvent.objects.all())
    assert "Another-Pass-99" not in text and user.password not in text
