"""Finding: host addresses were a port-scan channel into the platform's own network. With the
production default (loopback, link-local, metadata denied) such hosts are refused on save, and
an address that slips past the save check (a name, a changed setting) is refused on connect."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from bulwark.audits import services
from bulwark.audits.models import Audit, AuditStatus
from bulwark.inventory.models import Credential, Host
from tests.bulwark.world import World
from tests.hosts.recorders import RecordingHTTPServer, RecordingSSHServer
from workers.transports.address_policy import DEFAULT_DENY


@pytest.fixture
def production_deny(settings: pytest.FixtureRequest) -> None:
    settings.AUDIT_TARGET_DENY = list(DEFAULT_DENY)  # type: ignore[attr-defined]
    settings.AUDIT_TARGET_ALLOW = []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "localhost",
        "127.1",
        "2130706433",
        "::ffff:127.0.0.1",
        "169.254.169.254",
        "fe80::1%eth0",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
    ],
)
def test_a_denied_address_is_refused_on_save(
    world: World,
    client_for: Callable[[str], APIClient],
    production_deny: None,
    address: str,
) -> None:
    url = f"/api/hosts/{world.a.host.pk}/"
    response = client_for("a_admin").patch(url, {"address": address}, format="json")
    assert response.status_code == 400, response.content
    assert "may not be audited" in response.json()["address"][0]


def _audit(client: APIClient, host: Host, enqueued: list[int]) -> Audit:
    assert client.post(f"/api/hosts/{host.pk}/audit/", {}, format="json").status_code in (
        200,
        201,
        202,
    )
    services.run_audit(enqueued[-1])
    return Audit.objects.get(pk=enqueued[-1])


def test_an_ssh_host_saved_before_the_deny_is_refused_on_connect(
    world: World,
    client_for: Callable[[str], APIClient],
    enqueued: list[int],
    settings: pytest.FixtureRequest,
) -> None:
    with RecordingSSHServer() as listener:
        host = world.a.host
        host.port, host.host_key = listener.port, listener.host_key_line
        host.save()  # a trusted change: the binding follows
        settings.AUDIT_TARGET_DENY = list(DEFAULT_DENY)  # type: ignore[attr-defined]
        audit = _audit(client_for("a_operator"), host, enqueued)
    assert audit.status == AuditStatus.ERROR and "not allowed for audits" in audit.error_reason
    assert listener.recorded.connections == 0


def test_a_winrm_host_resolving_to_a_denied_address_gets_no_request(
    world: World,
    client_for: Callable[[str], APIClient],
    enqueued: list[int],
    settings: pytest.FixtureRequest,
) -> None:
    credential = Credential.objects.create(
        group=world.a.group, name="win", kind="winrm", username="Administrator", secret="W-77"
    )
    with RecordingHTTPServer() as listener:
        # A name, not a literal: only the connect-time check sees where it leads.
        host = Host.objects.create(
            name="win",
            address="localhost",
            port=listener.port,
            transport="winrm",
            winrm_allow_http=True,
            group=world.a.group,
            credential=credential,
        )
        settings.AUDIT_TARGET_DENY = list(DEFAULT_DENY)  # type: ignore[attr-defined]
        audit = _audit(client_for("a_operator"), host, enqueued)
    assert audit.status == AuditStatus.ERROR and "not allowed for audits" in audit.error_reason
    assert listener.recorded.connections == 0 and listener.recorded.headers == []
