"""Finding: a group admin re-points a host (or a credential) at a listener of theirs to read a
secret someone else entered. Each attack goes through the API and the real audit runner, to
loopback listeners that record what they receive; none may receive a secret."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from bulwark.audits import services
from bulwark.audits.models import Audit, AuditStatus
from bulwark.inventory.models import Credential, CredentialBinding, Host
from tests.bulwark.world import World
from tests.hosts.recorders import Recorded, RecordingHTTPServer, RecordingSSHServer

NOT_CONFIRMED = "not confirmed for the host's current destination"


def _audit_now(client: APIClient, host_id: int, enqueued: list[int]) -> Audit:
    """Start an audit through the API, then run it as the worker would."""
    response = client.post(f"/api/hosts/{host_id}/audit/", {}, format="json")
    assert response.status_code in (200, 201, 202), response.content[:300]
    services.run_audit(enqueued[-1])
    return Audit.objects.get(pk=enqueued[-1])


def _assert_nothing_leaked(recorded: Recorded, world: World) -> None:
    received = recorded.text()
    for secret in world.secrets():
        assert secret not in received


@pytest.fixture
def a_admin(client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for("a_admin")


@pytest.fixture
def root(client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for("root")


def test_re_pointing_a_host_at_a_listener_releases_no_ssh_or_sudo_password(
    world: World, a_admin: APIClient, enqueued: list[int]
) -> None:
    with RecordingSSHServer() as listener:
        # The attacker even pins the listener's own key, so the host-key check passes.
        change = {"port": listener.port, "host_key": listener.host_key_line}
        response = a_admin.patch(f"/api/hosts/{world.a.host.pk}/", change, format="json")
        assert response.status_code == 200, response.content
        audit = _audit_now(a_admin, world.a.host.pk, enqueued)
    assert audit.status == AuditStatus.ERROR and NOT_CONFIRMED in audit.error_reason
    assert listener.recorded.connections == 0
    _assert_nothing_leaked(listener.recorded, world)


def test_a_new_host_with_an_existing_credential_gets_no_secret(
    world: World, a_admin: APIClient, enqueued: list[int]
) -> None:
    with RecordingSSHServer() as listener:
        payload = {
            "name": "trap",
            "address": "127.0.0.1",
            "port": listener.port,
            "group": world.a.group.pk,
            "credential": world.a.credential.pk,
            "host_key": listener.host_key_line,
        }
        response = a_admin.post("/api/hosts/", payload, format="json")
        assert response.status_code == 201, response.content
        audit = _audit_now(a_admin, response.json()["id"], enqueued)
    assert audit.status == AuditStatus.ERROR and NOT_CONFIRMED in audit.error_reason
    assert listener.recorded.connections == 0


def test_re_entering_only_the_login_secret_does_not_release_the_stored_sudo_password(
    world: World, a_admin: APIClient, enqueued: list[int]
) -> None:
    with RecordingSSHServer() as listener:
        a_admin.patch(
            f"/api/hosts/{world.a.host.pk}/",
            {"port": listener.port, "host_key": listener.host_key_line},
            format="json",
        )
        # A password of the attacker's own: the stored sudo password stays the victim's.
        response = a_admin.patch(
            f"/api/credentials/{world.a.credential.pk}/", {"secret": "mine-123"}, format="json"
        )
        assert response.status_code == 200, response.content
        audit = _audit_now(a_admin, world.a.host.pk, enqueued)
    assert NOT_CONFIRMED in audit.error_reason
    _assert_nothing_leaked(listener.recorded, world)


def test_re_pointing_a_jump_host_releases_nothing(
    world: World, a_admin: APIClient, enqueued: list[int]
) -> None:
    jump = Host.objects.create(
        name="bastion",
        address="127.0.0.1",
        port=2200,
        group=world.a.group,
        credential=world.a.credential,
        host_key="",
    )
    target_credential = Credential(
        group=world.a.group,
        name="behind-bastion",
        kind=Credential.Kind.SSH_PASSWORD,
        username="auditor",
        secret="behind-Secret-41",
        jump_host=jump,
    )
    target_credential.full_clean()
    target_credential.save()
    target = Host.objects.create(
        name="inner", address="10.77.9.9", group=world.a.group, credential=target_credential
    )
    world.a.secrets.append("behind-Secret-41")
    with RecordingSSHServer() as listener:
        response = a_admin.patch(
            f"/api/hosts/{jump.pk}/",
            {"port": listener.port, "host_key": listener.host_key_line},
            format="json",
        )
        assert response.status_code == 200, response.content
        audit = _audit_now(a_admin, target.pk, enqueued)
    assert NOT_CONFIRMED in audit.error_reason
    assert listener.recorded.connections == 0
    _assert_nothing_leaked(listener.recorded, world)


def test_re_pointing_a_winrm_host_at_a_listener_sends_no_authorization(
    world: World, a_admin: APIClient, enqueued: list[int]
) -> None:
    credential = Credential(
        group=world.a.group,
        name="windows",
        kind=Credential.Kind.WINRM,
        username="Administrator",
        secret="Win-Secret-77",
    )
    credential.save()
    world.a.secrets.append("Win-Secret-77")
    host = Host.objects.create(
        name="win",
        address="127.0.0.1",
        port=5986,
        transport="winrm",
        group=world.a.group,
        credential=credential,
    )
    with RecordingHTTPServer() as listener:
        change = {"port": listener.port, "winrm_allow_http": True}
        response = a_admin.patch(f"/api/hosts/{host.pk}/", change, format="json")
        assert response.status_code == 200, response.content
        audit = _audit_now(a_admin, host.pk, enqueued)
    assert NOT_CONFIRMED in audit.error_reason
    assert listener.recorded.connections == 0
    _assert_nothing_leaked(listener.recorded, world)


def test_basic_authentication_over_http_is_refused(world: World, a_admin: APIClient) -> None:
    response = a_admin.patch(
        f"/api/hosts/{world.a.host.pk}/",
        {"transport": "winrm", "winrm_auth": "basic", "winrm_allow_http": True},
        format="json",
    )
    assert response.status_code == 400 and "winrm_auth" in response.json()


@pytest.mark.slow  # waits out the recording listener (5 s of silence)
def test_a_group_admin_confirms_only_by_re_entering_every_stored_secret(
    world: World, a_admin: APIClient, enqueued: list[int]
) -> None:
    with RecordingSSHServer() as listener:
        a_admin.patch(
            f"/api/hosts/{world.a.host.pk}/",
            {"port": listener.port, "host_key": listener.host_key_line},
            format="json",
        )
        url = f"/api/hosts/{world.a.host.pk}/confirm-credential/"
        guess = a_admin.post(url, {"secret": "secret-of-a-Xq7!"}, format="json")
        assert guess.status_code == 400 and "sudo_password" in guess.json()
        assert listener.recorded.connections == 0
        both = {"secret": "secret-of-a-Xq7!", "sudo_password": "sudo-of-a-Zr9!"}
        assert a_admin.post(url, both, format="json").status_code == 200
        audit = _audit_now(a_admin, world.a.host.pk, enqueued)
    # Whoever knows the secrets may send them anywhere: now the login goes ahead.
    assert listener.recorded.passwords == ["secret-of-a-Xq7!"], audit.error_reason


def test_another_groups_admin_cannot_confirm_a_host(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    url = f"/api/hosts/{world.a.host.pk}/confirm-credential/"
    response = client_for("b_admin").post(url, {"secret": "x"}, format="json")
    assert response.status_code == 404


def test_a_superuser_changing_the_destination_confirms_it(
    world: World, root: APIClient, a_admin: APIClient
) -> None:
    host = world.a.host
    assert CredentialBinding.objects.filter(host=host).count() == 1
    a_admin.patch(f"/api/hosts/{host.pk}/", {"port": 2022}, format="json")
    host.refresh_from_db()
    from bulwark.inventory import bindings

    assert not bindings.is_bound(host)
    # A superuser saving without changing the destination does not bless the admin's change.
    root.patch(f"/api/hosts/{host.pk}/", {"warning_below": 50}, format="json")
    assert not bindings.is_bound(host)
    root.patch(f"/api/hosts/{host.pk}/", {"port": 2023}, format="json")
    host.refresh_from_db()
    assert bindings.is_bound(host)


def test_trust_on_first_use_never_sends_a_password(
    world: World, root: APIClient, enqueued: list[int]
) -> None:
    with RecordingSSHServer() as listener:
        # Even a superuser's own change: the key is not pinned, so no password goes out.
        change = {"port": listener.port, "host_key": "", "trust_on_first_use": True}
        assert (
            root.patch(f"/api/hosts/{world.a.host.pk}/", change, format="json").status_code == 200
        )
        audit = _audit_now(root, world.a.host.pk, enqueued)
    assert audit.status == AuditStatus.ERROR and "not pinned" in audit.error_reason
    assert listener.recorded.connections == 1 and listener.recorded.passwords == []
    _assert_nothing_leaked(listener.recorded, world)


def test_guessing_the_secrets_through_confirmation_is_throttled(
    world: World, a_admin: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"confirm-credential": "3/hour"})
    url = f"/api/hosts/{world.a.host.pk}/confirm-credential/"
    codes = [
        a_admin.post(url, {"secret": f"guess-{i}"}, format="json").status_code for i in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    cache.clear()
