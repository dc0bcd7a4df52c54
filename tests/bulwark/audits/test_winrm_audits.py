"""WinRM hosts in the platform: audited like SSH hosts through the WS-Management test server,
HTTPS with the host's own CA, and refused where the certificate or the scheme is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from bulwark.audits import services
from bulwark.audits.models import Audit, AuditStatus, Result
from bulwark.inventory.models import Credential, Group, Host
from tests.hosts.pki import TestCA
from tests.hosts.winrm_server import WinRMServer
from tests.hosts.winrm_support import PASSWORD, USER, machine


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("winrm-ca"))


@pytest.fixture(scope="module")
def server(ca: TestCA) -> Iterator[WinRMServer]:
    cert = ca.issue(["127.0.0.1", "localhost"])
    with WinRMServer(
        machine("ws2022_hardened"), users={USER: PASSWORD}, tls=(cert.cert, cert.key)
    ) as running:
        yield running


def _host(group: Group, server: WinRMServer, ca: TestCA, **fields: object) -> Host:
    credential = Credential.objects.create(
        group=group,
        name=f"win-{Credential.objects.count()}",
        kind=Credential.Kind.WINRM,
        username=USER,
        secret=PASSWORD,
    )
    values: dict[str, object] = {
        "name": f"win-{Host.objects.count()}",
        "address": "127.0.0.1",
        "port": server.port,
        "transport": Host.TransportKind.WINRM,
        "group": group,
        "credential": credential,
        "ca_certificates": Path(ca.cert_path).read_text(),
    }
    values.update(fields)
    host = Host(**values)
    host.full_clean()
    host.save()
    return host


def _audit(host: Host) -> Audit:
    (audit,) = services.start_audits([host])
    audit.refresh_from_db()
    return audit


@pytest.mark.django_db(transaction=True)
def test_a_windows_host_is_audited_over_winrm_https(
    catalogue: None, group: Group, server: WinRMServer, ca: TestCA
) -> None:
    host = _host(group, server, ca)
    audit = _audit(host)
    assert audit.status == AuditStatus.DONE, audit.error_reason
    assert audit.passed + audit.failed > 200
    assert Result.objects.filter(audit=audit).count() == (
        audit.passed + audit.failed + audit.not_applicable
    )
    host.refresh_from_db()
    assert host.os_family == "windows" and host.latest_score == audit.score


@pytest.mark.django_db(transaction=True)
def test_an_untrusted_certificate_is_a_permanent_error(
    catalogue: None, group: Group, server: WinRMServer, ca: TestCA
) -> None:
    audit = _audit(_host(group, server, ca, ca_certificates=""))
    assert (audit.status, audit.attempts) == (AuditStatus.ERROR, 1)
    assert "certificate" in audit.error_reason.lower()
    assert PASSWORD not in audit.error_reason


@pytest.mark.django_db
def test_a_winrm_host_needs_a_winrm_credential_and_pem_cas(group: Group) -> None:
    ssh = Credential.objects.create(
        group=group, name="ssh", kind=Credential.Kind.SSH_PASSWORD, username="u", secret="pw"
    )
    host = Host(
        name="w",
        address="127.0.0.1",
        port=5986,
        transport=Host.TransportKind.WINRM,
        group=group,
        credential=ssh,
        ca_certificates="not a certificate",
    )
    with pytest.raises(ValidationError) as error:
        host.full_clean()
    assert {"credential", "ca_certificates"} <= set(error.value.message_dict)
