"""The inventory API: validation through the models' clean() (400 naming the field), write-only
credential secrets, and memberships managed by group admins."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from bulwark.inventory.models import Credential, Host, Membership
from tests.bulwark.world import World

pytestmark = pytest.mark.django_db

KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAb3BlbnNzaC1rZXktdjEAAAAA\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)


@pytest.fixture
def admin(client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for("a_admin")


def _host(world: World, **fields: object) -> dict[str, object]:
    return {
        "name": "db-1",
        "address": "db-1.example.com",
        "port": 22,
        "group": world.a.group.pk,
        "credential": world.a.credential.pk,
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"address": "not a host!"}, "address"),
        ({"address": "10.0.0.5; rm -rf /"}, "address"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"port": "ssh"}, "port"),
        ({"group": 999999}, "group"),
        ({"group": None}, "group"),
        ({"credential": None}, "credential"),  # an SSH host needs one (Host.clean)
        ({"transport": "telnet"}, "transport"),
        ({"warning_below": 40, "critical_below": 70}, "critical_below"),
    ],
)
def test_a_bad_host_payload_is_a_400_naming_the_field(
    world: World, admin: APIClient, fields: dict[str, object], field: str
) -> None:
    response = admin.post("/api/hosts/", _host(world, **fields), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Host.objects.filter(name="db-1").exists()


def test_a_host_is_created_changed_and_deleted(world: World, admin: APIClient) -> None:
    created = admin.post("/api/hosts/", _host(world), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["group_name"], body["state"], body["latest_score"]) == ("group-a", "unknown", None)
    url = f"/api/hosts/{body['id']}/"
    assert admin.patch(url, {"port": 2222}, format="json").json()["port"] == 2222
    bad = admin.patch(url, {"port": 65536}, format="json")
    assert bad.status_code == 400 and "port" in bad.json()
    duplicate = admin.post("/api/hosts/", _host(world), format="json")
    assert duplicate.status_code == 400 and "name" in duplicate.json()
    assert admin.delete(url).status_code == 204


def test_credential_secrets_are_write_only(world: World, admin: APIClient) -> None:
    payload = {
        "group": world.a.group.pk,
        "name": "deploy",
        "kind": "ssh-key",
        "username": "deploy",
        "secret": KEY,
        "passphrase": "key-Passphrase-77",
        "sudo_mode": "password",
        "sudo_password": "sudo-Secret-88",
    }
    created = admin.post("/api/credentials/", payload, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert {"secret", "passphrase", "sudo_password"}.isdisjoint(body)
    assert (body["has_secret"], body["has_passphrase"], body["has_sudo_password"]) == (
        True,
        True,
        True,
    )
    url = f"/api/credentials/{body['id']}/"
    # Leaving the secrets out keeps them; "" clears a passphrase.
    admin.patch(url, {"username": "ops", "passphrase": ""}, format="json")
    stored = Credential.objects.get(pk=body["id"])
    assert stored.secret.reveal() == KEY and stored.passphrase == ""
    assert stored.sudo_password.reveal() == "sudo-Secret-88"
    texts = [
        admin.get(url).content.decode(),
        admin.get("/api/credentials/").content.decode(),
        admin.options("/api/credentials/").content.decode(),
        admin.get(url, HTTP_ACCEPT="text/html").content.decode(),  # the browsable API
    ]
    for text in texts:
        for secret in ("OPENSSH PRIVATE KEY", "key-Passphrase-77", "sudo-Secret-88"):
            assert secret not in text
        assert stored.secret.token not in text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "ssh-key", "secret": "just a password"}, "secret"),
        ({"secret": ""}, "secret"),
        ({"kind": "winrm", "sudo_mode": "nopasswd"}, "sudo_mode"),
        ({"group": 999999}, "group"),
        ({"name": "cred-a"}, "non_field_errors"),  # taken in this group
    ],
)
def test_a_bad_credential_payload_is_a_400_naming_the_field(
    world: World, admin: APIClient, fields: dict[str, object], field: str
) -> None:
    payload = {
        "group": world.a.group.pk,
        "name": "new",
        "kind": "ssh-password",
        "username": "u",
        "secret": "pw-1",
        **fields,
    }
    response = admin.post("/api/credentials/", payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    if fields.get("secret"):
        assert str(fields["secret"]) not in response.content.decode()


def test_group_admins_manage_members_by_username(world: World, admin: APIClient) -> None:
    listed = admin.get("/api/memberships/").json()["results"]
    assert {(m["user"], m["role"]) for m in listed} == {
        ("a_admin", "admin"),
        ("a_viewer", "viewer"),
        ("a_operator", "operator"),
    }
    # b_admin shares no group with a_admin: the same answer as a user that does not exist
    # (tests/bulwark/api/test_existence.py); a superuser adds anyone.
    stranger = admin.post(
        "/api/memberships/",
        {"group": world.a.group.pk, "user": "b_admin", "role": "viewer"},
        format="json",
    )
    assert stranger.status_code == 400
    Membership.objects.create(user=world.users["b_admin"], group=world.a.group, role="viewer")
    again = admin.post(
        "/api/memberships/",
        {"group": world.a.group.pk, "user": "b_admin", "role": "admin"},
        format="json",
    )
    assert again.status_code == 400
    nobody = admin.post(
        "/api/memberships/", {"group": world.a.group.pk, "user": "nobody"}, format="json"
    )
    assert nobody.status_code == 400 and "user" in nobody.json()
    assert Membership.objects.filter(user__username="b_admin").count() == 2


def test_groups_show_the_users_role(world: World, client_for: Callable[[str], APIClient]) -> None:
    rows = client_for("a_operator").get("/api/groups/").json()["results"]
    assert [(r["name"], r["role"]) for r in rows] == [("group-a", "operator")]
    bad = client_for("root").post("/api/groups/", {"name": "g", "warning_below": 120})
    assert bad.status_code == 400 and "warning_below" in bad.json()
