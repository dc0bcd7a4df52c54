"""Audits of real sshd test hosts (root): SSH end to end, host key pinning, TOFU, changed keys,
and passwords kept out of logs. Tasks run in-process."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from bulwark.audits import services
from bulwark.audits.models import AlertEvent, Audit, AuditStatus, Result
from bulwark.inventory.models import Credential, Group, Host
from lab.harness import HostSpec, TestHost, TestHosts, TestUser

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)

OPS_PASSWORD = "ops-Pw 9#q'$(x)-never-logged"


@pytest.fixture(scope="module")
def target(test_hosts: TestHosts) -> Iterator[TestHost]:
    spec = HostSpec("audited", users=[TestUser("ops", password=OPS_PASSWORD, sudo="password")])
    started = test_hosts.start(spec)
    yield started
    started.stop()


def _other_key_line() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def _host(target: TestHost, group: Group, **fields: object) -> Host:
    credential = Credential.objects.create(
        group=group,
        name=f"root-key-{Credential.objects.count()}",
        kind=Credential.Kind.SSH_KEY,
        username="root",
        secret=target.client_key,
    )
    values: dict[str, object] = {
        "name": f"audited-{Host.objects.count()}",
        "address": target.address,
        "port": target.port,
        "group": group,
        "credential": credential,
        "host_key": target.host_key_line,
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
def test_a_host_is_audited_over_ssh_with_its_key_pinned(
    catalogue: None, group: Group, target: TestHost
) -> None:
    host = _host(target, group)
    audit = _audit(host)
    assert audit.status == AuditStatus.DONE, audit.error_reason
    assert Result.objects.filter(audit=audit).count() == audit.passed + audit.failed + (
        audit.not_applicable
    )
    assert audit.passed + audit.failed > 0
    host.refresh_from_db()
    assert host.reported_hostname == "audited" and host.os_version == "12"


@pytest.mark.django_db(transaction=True)
def test_trust_on_first_use_pins_the_first_key_seen(
    catalogue: None, group: Group, target: TestHost
) -> None:
    host = _host(target, group, host_key="", trust_on_first_use=True)
    assert _audit(host).status == AuditStatus.DONE
    host.refresh_from_db()
    assert host.host_key and target.host_key_line.startswith(host.host_key)
    assert _audit(host).status == AuditStatus.DONE  # now checked against the pin


@pytest.mark.django_db(transaction=True)
def test_an_unpinned_key_without_trust_on_first_use_is_refused_without_retry(
    catalogue: None, group: Group, target: TestHost
) -> None:
    host = _host(target, group, host_key="")
    audit = _audit(host)
    assert (audit.status, audit.attempts) == (AuditStatus.ERROR, 1)
    assert "not pinned" in audit.error_reason
    host.refresh_from_db()
    assert host.host_key == ""


@pytest.mark.django_db(transaction=True)
def test_a_changed_host_key_fails_the_audit_and_alerts_once(
    catalogue: None, group: Group, target: TestHost
) -> None:
    host = _host(target, group, host_key=_other_key_line(), trust_on_first_use=True)
    first = _audit(host)
    assert (first.status, first.attempts) == (AuditStatus.ERROR, 1)
    assert "CHANGED" in first.error_reason
    (alert,) = AlertEvent.objects.filter(host=host)
    assert (alert.kind, alert.severity, alert.audit_id) == ("host_key", "critical", first.pk)
    assert _audit(host).status == AuditStatus.ERROR
    assert AlertEvent.objects.filter(host=host).count() == 1  # the same change: one alert
    assert not Result.objects.filter(audit__host=host).exists()


@pytest.mark.django_db(transaction=True)
def test_a_password_and_sudo_password_reach_the_host_but_never_a_log(
    catalogue: None, group: Group, target: TestHost, caplog: pytest.LogCaptureFixture
) -> None:
    credential = Credential.objects.create(
        group=group,
        name="ops",
        kind=Credential.Kind.SSH_PASSWORD,
        username="ops",
        secret=OPS_PASSWORD,
        sudo_mode=Credential.Sudo.PASSWORD,
    )
    host = _host(target, group, credential=credential)
    wrong = Credential.objects.create(
        group=group,
        name="wrong",
        kind="ssh-password",
        username="ops",
        secret=OPS_PASSWORD + "-wrong",
    )
    refused = _host(target, group, credential=wrong)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("paramiko").setLevel(logging.DEBUG)
        try:
            good, bad = _audit(host), _audit(refused)
        finally:
            logging.getLogger("paramiko").setLevel(logging.WARNING)
    assert good.status == AuditStatus.DONE, good.error_reason
    assert (bad.status, bad.attempts) == (AuditStatus.ERROR, 1)  # wrong password: no retry
    assert bad.error_reason == "authentication failed"
    assert "paramiko" in caplog.text  # the SSH library's debug output was captured ...
    assert OPS_PASSWORD not in caplog.text  # ... and holds no password
    assert OPS_PASSWORD not in bad.error_reason
