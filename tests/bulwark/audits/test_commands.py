"""manage.py audit and demo_setup."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from bulwark.audits.models import Audit, AuditStatus, Schedule
from bulwark.inventory.models import Group, Host
from tests.parallel import LAB_CLEANERS

pytestmark = pytest.mark.slow  # make test-fast leaves it out


@pytest.mark.django_db(transaction=True)
def test_audit_prints_progress_and_the_summary(machine_policy: None, local_host: Host) -> None:
    out = io.StringIO()
    call_command("audit", "this-machine", wait=True, stdout=out)
    audit = Audit.objects.get(host=local_host)
    text = out.getvalue()
    assert f"this-machine: audit {audit.pk} started" in text
    assert "this-machine: done" in text
    assert f"this-machine: score {audit.score:g}  passed {audit.passed}" in text
    assert "✗" in text  # the category table


@pytest.mark.django_db(transaction=True)
def test_audit_of_a_group_audits_each_host(
    machine_policy: None, local_host: Host, group: Group
) -> None:
    Host.objects.create(name="second", address="localhost", transport="local", group=group)
    call_command("audit", group="servers", stdout=io.StringIO())
    assert Audit.objects.filter(status=AuditStatus.DONE).count() == 2


@pytest.mark.django_db
def test_audit_refuses_unknown_hosts_and_groups(local_host: Host) -> None:
    with pytest.raises(CommandError, match="no such host: nope"):
        call_command("audit", "nope")
    with pytest.raises(CommandError, match="group 'nope'"):
        call_command("audit", group="nope")
    with pytest.raises(CommandError, match="no such host: this-machine in group 'other'"):
        call_command("audit", "this-machine", group="other")
    with pytest.raises(CommandError, match="name hosts, or give --group"):
        call_command("audit")


@pytest.mark.django_db(transaction=True)
def test_audit_asks_for_the_group_when_two_groups_use_the_name(local_host: Host) -> None:
    # Host names are unique per group only (existence leaks, docs/security.md).
    other = Group.objects.create(name="lab")
    twin = Host.objects.create(
        name="this-machine", address="localhost", transport="local", group=other
    )
    with pytest.raises(CommandError, match=r"several groups \(lab, servers\): give --group"):
        call_command("audit", "this-machine")
    assert not Audit.objects.exists()
    with pytest.raises(CommandError, match="some audits failed"):  # no policies synced here
        call_command("audit", "this-machine", group="lab", stdout=io.StringIO())
    assert list(Audit.objects.values_list("host", flat=True)) == [twin.pk]


@pytest.mark.django_db(transaction=True)
def test_audit_exits_non_zero_when_an_audit_failed(local_host: Host) -> None:
    # No policies synced: the audit is an error.
    out = io.StringIO()
    with pytest.raises(CommandError, match="some audits failed"):
        call_command("audit", "this-machine", stdout=out)
    assert "ERROR no enabled policies" in out.getvalue()


@pytest.mark.xdist_group(LAB_CLEANERS)  # its start waits for its turn to clean
@pytest.mark.django_db(transaction=True)
def test_demo_setup_prints_the_password_once_and_audits_this_machine() -> None:
    out = io.StringIO()
    call_command("demo_setup", stdout=out)
    text = out.getvalue()
    password = re.search(r"admin user created: admin / (\S+)", text)
    assert password is not None
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password(password.group(1))
    host = Host.objects.get(transport=Host.TransportKind.LOCAL)
    assert Audit.objects.get(host=host).status == AuditStatus.DONE
    assert Schedule.objects.get(host=host).interval_days == 7
    again = io.StringIO()
    call_command("demo_setup", no_audit=True, stdout=again)
    assert password.group(1) not in again.getvalue()
    assert "exists (password unchanged)" in again.getvalue()
    assert Host.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_in_the_embedded_default_audit_waits_for_the_retries_it_announced(
    settings: object, catalogue: None, group: Group, make_credential: object
) -> None:
    import socket

    from tests.bulwark.conftest import using_postgres

    if not using_postgres():
        pytest.skip("SQLite's in-memory test database is not shared between threads")
    settings.AUDIT_RETRY_BACKOFF = 0.2  # type: ignore[attr-defined]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    Host.objects.create(
        name="down", address="127.0.0.1", port=port, group=group,
        credential=make_credential(),  # type: ignore[operator]
    )  # fmt: skip
    out = io.StringIO()
    with pytest.raises(CommandError, match="some audits failed"):
        call_command("audit", "down", stdout=out)  # no --wait: no worker would finish it
    audit = Audit.objects.get(host__name="down")
    assert (audit.status, audit.attempts) == (AuditStatus.ERROR, 4)
    assert "gave up after 4 attempts" in out.getvalue()
