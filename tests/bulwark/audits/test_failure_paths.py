"""Every failure path ends the audit: bytes PostgreSQL refuses are stored as escapes, a database
error while storing is an error with the reason (or a retry when the connection was lost), and
a host that trickles output for ever is cut off at AUDIT_MAX_SECONDS. Real local hosts, tasks
in-process."""

from __future__ import annotations

import time
from typing import Any
from unittest import mock

import psycopg
import pytest
from django.db import DataError, connection

from bulwark.audits import services, store
from bulwark.audits.models import Audit, AuditStatus, Result, ScoreSample
from bulwark.inventory.models import Host
from bulwark.policies.services import import_policy_texts
from tests.bulwark.conftest import using_postgres

POLICY = """\
policy:
  id: {id}
  file: {id}.yml
  name: "Failure paths {id}"
  description: "One command check."
checks:
  - id: {check}
    title: "A command whose output matters"
    compliance:
      - cis_csc_v8: ["4.1"]
    condition: all
    rules:
      - 'c:{command} -> r:{pattern}'
"""


def _only_policy(policy_id: str, check: int, command: str, pattern: str) -> None:
    from bulwark.policies.models import Policy

    text = POLICY.format(id=policy_id, check=check, command=command, pattern=pattern)
    import_policy_texts([(f"{policy_id}.yml", text)])
    Policy.objects.exclude(policy_id=policy_id).update(enabled=False)


def _audit(host: Host) -> Audit:
    (audit,) = services.start_audits([host])
    audit.refresh_from_db()
    return audit


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_host_output_is_stored_as_a_visible_escape(local_host: Host) -> None:
    # The shell hands printf a\000b: a NUL byte, which PostgreSQL refuses in text and JSON.
    _only_policy("nul_output", 9301, r"printf a\\000b\\n", "^a")
    audit = _audit(local_host)
    assert audit.status == AuditStatus.DONE, audit.error_reason
    (result,) = Result.objects.filter(audit=audit)
    stored = repr(result.evidence) + result.reason
    assert "\x00" not in stored
    assert "\\\\x00" in stored  # the escape, visible (repr doubles the backslash)


@pytest.mark.django_db(transaction=True)
def test_data_the_database_refuses_ends_the_audit_as_an_error_with_the_reason(
    machine_policy: None, local_host: Host
) -> None:
    refused = DataError("value too long for type character varying(16)\nDETAIL: more")
    with mock.patch.object(store, "_insert_results", side_effect=refused):
        audit = _audit(local_host)
    assert audit.status == AuditStatus.ERROR and audit.lease_expires is None
    assert audit.error_reason == (
        "could not record the audit: database DataError: "
        "value too long for type character varying(16)"
    )
    assert not Result.objects.filter(audit=audit).exists()  # the store rolled back whole
    assert not ScoreSample.objects.filter(audit=audit).exists()
    # The host is not stuck: the next audit runs and is stored.
    assert _audit(local_host).status == AuditStatus.DONE


@pytest.mark.django_db(transaction=True)
def test_a_connection_terminated_mid_store_is_retried_and_stored_once(
    settings: Any, machine_policy: None, local_host: Host
) -> None:
    if not using_postgres():
        pytest.skip("pg_terminate_backend needs PostgreSQL (CI runs it)")
    settings.AUDIT_RETRY_BACKOFF = 0.2
    original = store._insert_results
    terminated = []

    def terminate_first_time(*args: Any) -> None:
        if not terminated:
            # Another session kills ours, as a PostgreSQL restart or failover would.
            pid = connection.cursor().connection.info.backend_pid
            params = connection.get_connection_params()
            with psycopg.connect(**params, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            terminated.append(pid)
        original(*args)

    with mock.patch.object(store, "_insert_results", side_effect=terminate_first_time):
        (audit,) = services.start_audits([local_host])
        deadline = time.monotonic() + 120
        audit.refresh_from_db()
        while audit.status not in (AuditStatus.DONE, AuditStatus.ERROR):
            assert time.monotonic() < deadline, "the retry never finished"
            time.sleep(0.1)
            audit.refresh_from_db()
    assert terminated
    assert audit.status == AuditStatus.DONE, audit.error_reason
    assert audit.attempts == 2
    checks = audit.passed + audit.failed + audit.not_applicable
    assert Result.objects.filter(audit=audit).count() == checks
    assert ScoreSample.objects.filter(audit=audit).count() == 1


@pytest.mark.slow  # a timer: waits out the output budget
@pytest.mark.django_db(transaction=True)
def test_a_host_that_trickles_output_for_ever_is_stopped_at_the_budget(
    settings: Any, local_host: Host
) -> None:
    settings.AUDIT_MAX_SECONDS = 2.0
    _only_policy("endless", 9311, 'sh -c "while :; do echo tick; sleep 0.1; done"', "^never")
    started = time.monotonic()
    (audit,) = services.start_audits([local_host], command_timeout=600)
    audit.refresh_from_db()
    assert time.monotonic() - started < 600  # the command's own timeout never came into it
    assert audit.status == AuditStatus.ERROR
    assert audit.error_reason.startswith("the audit ran longer than AUDIT_MAX_SECONDS (2 s)")
    assert audit.lease_expires is None
