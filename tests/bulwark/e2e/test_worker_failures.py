"""Workers that die or race, with real processes on PostgreSQL and Redis: a worker SIGKILLed in
the middle of an audit leaves a lease that expires, beat's reaper re-queues the audit and a new
worker completes it with exactly one set of results; two workers handed the same audit run it
once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from celery import Celery

from tests.bulwark.e2e.stack import Stack, postgres_database, redis_broker_url, wait_for_audit

pytestmark = pytest.mark.slow  # make test-fast leaves it out

LEASE = 10  # seconds: the settings' minimum

# Check 9101's command is slow only the first time it runs (the marker file remembers).
POLICY = """\
policy:
  id: {id}
  file: {id}.yml
  name: "End-to-end policy {id}"
  description: "A command that takes its time, and a quick check."
checks:
  - id: {first}
    title: "A command that takes its time"
    compliance:
      - cis_csc_v8: ["4.1"]
    condition: all
    rules:
      - 'c:sh -c "{command}" -> r:^done'
  - id: {second}
    title: "The password file exists"
    compliance:
      - cis_csc_v8: ["5.1"]
    condition: all
    rules:
      - 'f:/etc/passwd'
"""


def _policy(policy_id: str, first: int, command: str) -> dict[str, str]:
    text = POLICY.format(id=policy_id, first=first, second=first + 1, command=command)
    return {"name": f"{policy_id}.yml", "content": text}


def test_a_killed_worker_s_audit_is_reaped_and_completed_once_and_duplicates_run_once(
    tmp_path: Path,
) -> None:
    broker = redis_broker_url()
    marker = tmp_path / "first-run-started"
    slow_once = f"if [ -e {marker} ]; then echo done; else touch {marker}; sleep 30; echo done; fi"
    with postgres_database() as database:
        stack = Stack(
            tmp_path,
            database_url=database,
            broker_url=broker,
            AUDIT_LEASE_SECONDS=str(LEASE),
            AUDIT_REAP_INTERVAL="1",
        )
        try:
            api = stack.prepare(sync=False)
            api.post("/api/policies/import/", {"files": [_policy("slow_once", 9101, slow_once)]})
            group = api.post("/api/groups/", {"name": "local"})
            host = api.post(
                "/api/hosts/",
                {"name": "worker-machine", "address": "localhost", "transport": "local",
                 "group": group["id"]},
            )  # fmt: skip
            stack.start_beat()
            stack.start_worker("first")
            (audit,) = api.post(f"/api/hosts/{host['id']}/audit/", expect=202)
            stack.wait_for(marker.exists, 60, "the slow command to start")
            assert api.get(f"/api/audits/{audit['id']}/")["status"] == "running"
            stack.kill("first")  # SIGKILL, mid-audit
            stack.start_worker("second")
            done = wait_for_audit(stack, api, audit["id"], timeout=LEASE + 90)
            assert done["status"] == "done", done["error_reason"]
            assert done["attempts"] == 2  # the dead worker's claim, then the second's
            assert (done["passed"], done["failed"], done["not_applicable"]) == (2, 0, 0)
            results = api.get("/api/results/", audit=audit["id"])
            assert results["count"] == 2  # exactly one set: no duplicates, none lost
            assert api.get("/api/score-samples/", host=host["id"])["count"] == 1
            assert api.get("/api/audits/", host=host["id"])["count"] == 1
            assert "re-queued 1 audit(s) whose lease expired" in stack.all_logs()

            # Two workers, the same audit twice on the broker: one runs it.
            (slow,) = api.get("/api/policies/", policy_id="slow_once")["results"]
            api.call("PATCH", f"/api/policies/{slow['id']}/", {"enabled": False})
            steady = _policy("steady", 9201, "sleep 3; echo done")
            api.post("/api/policies/import/", {"files": [steady]})
            stack.start_worker("third", concurrency=1)
            (again,) = api.post(f"/api/hosts/{host['id']}/audit/", expect=202)
            # Not the process's current app: the platform's shared tasks would follow it to
            # this broker in every later test of the process (tests/bulwark/conftest.py).
            sender = Celery(broker=broker, set_as_current=False)
            sender.send_task("audits.audit_host", args=[again["id"]])
            sender.close()
            finished = wait_for_audit(stack, api, again["id"])
            assert finished["status"] == "done" and finished["attempts"] == 1
            assert api.get("/api/results/", audit=again["id"])["count"] == 2
            stack.wait_for(
                lambda: _ran_and_skipped(stack, again["id"]) == (1, 1), 30, "both deliveries"
            )
        finally:
            stack.close()


def _ran_and_skipped(stack: Stack, audit_id: int) -> tuple[int, int]:
    """How many workers ran audit `audit_id` to the end, and how many found nothing to claim."""
    logs = stack.log("second") + stack.log("third")
    ran = len(re.findall(rf"audit {audit_id} of \S+ done", logs))
    skipped = len(re.findall(rf"audit {audit_id}: nothing to claim", logs))
    return ran, skipped
