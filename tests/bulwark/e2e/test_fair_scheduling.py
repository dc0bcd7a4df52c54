"""Fair scheduling with a real Celery worker on PostgreSQL and Redis: an "audit now" waiting
behind a schedule's audits runs first, and a group's `max_parallel` holds even when the worker
has room for more (the others wait and come back)."""

from __future__ import annotations

import datetime as dt
import itertools
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.bulwark.e2e.stack import Api, Stack, postgres_database, redis_broker_url, wait_for_audit

pytestmark = pytest.mark.slow  # make test-fast leaves it out

POLICY = """\
policy:
  id: unhurried
  file: unhurried.yml
  name: "A policy that takes two seconds"
  description: "One slow command, one file."
checks:
  - id: 9301
    title: "A command that takes two seconds"
    compliance:
      - cis_csc_v8: ["4.1"]
    condition: all
    rules:
      - 'c:sh -c "sleep 2; echo done" -> r:^done'
  - id: 9302
    title: "The password file exists"
    compliance:
      - cis_csc_v8: ["5.1"]
    condition: all
    rules:
      - 'f:/etc/passwd'
"""

START_SCHEDULED = """
from bulwark.audits.services import start_audits
from bulwark.inventory.models import Host
for audit in start_audits(Host.objects.filter(group__name="batch"), trigger="schedule"):
    print(audit.pk)
"""


def _local_hosts(api: Api, group: dict[str, Any], names: list[str]) -> list[dict[str, Any]]:
    return [
        api.post("/api/hosts/", {"name": name, "address": "localhost", "transport": "local",
                                 "group": group["id"]})
        for name in names
    ]  # fmt: skip


def _running_worker(api: Api) -> dict[str, Any] | None:
    (zone,) = api.get("/api/zones/")
    return next((w for w in zone["workers"] if w["alive"] and w["running"]), None)


def _when(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_manual_audits_go_first_and_max_parallel_holds(tmp_path: Path) -> None:
    broker = redis_broker_url()
    with postgres_database() as database:
        stack = Stack(
            tmp_path, database_url=database, broker_url=broker, WORKER_HEARTBEAT_SECONDS="1"
        )
        try:
            api = stack.prepare(sync=False)
            api.post("/api/policies/import/", {"files": [
                {"name": "unhurried.yml", "content": POLICY}]})  # fmt: skip
            batch = api.post("/api/groups/", {"name": "batch"})
            _local_hosts(api, batch, [f"batch-{n}" for n in range(4)])
            (urgent,) = _local_hosts(api, api.post("/api/groups/", {"name": "ops"}), ["urgent"])

            # A schedule enqueued four audits; then someone clicks "audit now" on another host.
            scheduled = [
                int(i) for i in stack.manage("shell", "-v", "0", "-c", START_SCHEDULED).split()
            ]
            assert len(scheduled) == 4
            (manual,) = api.post(f"/api/hosts/{urgent['id']}/audit/", expect=202)
            stack.start_worker("one-at-a-time", concurrency=1)
            first = wait_for_audit(stack, api, manual["id"])
            later = [wait_for_audit(stack, api, audit_id) for audit_id in scheduled]
            assert all(a["status"] == "done" for a in [first, *later])
            assert all(_when(first["started_at"]) < _when(a["started_at"]) for a in later)
            stack.kill("one-at-a-time", signal.SIGTERM)

            # Four slots in the worker, one for the limited group: its audits run one by one.
            limited = api.post("/api/groups/", {"name": "limited", "max_parallel": 1})
            hosts = _local_hosts(api, limited, ["lim-0", "lim-1", "lim-2"])
            audits = [api.post(f"/api/hosts/{h['id']}/audit/", expect=202)[0] for h in hosts]
            stack.start_worker("roomy", concurrency=4)
            # The zone view sees the worker at work: one audit running, never more.
            busy = stack.wait_for(lambda: _running_worker(api), 60, "a heartbeat while busy")
            assert (busy["running"], busy["concurrency"], busy["alive"]) == (1, 4, True)
            done = sorted(
                (wait_for_audit(stack, api, a["id"]) for a in audits),
                key=lambda a: _when(a["started_at"]),
            )
            assert all(a["status"] == "done" and a["attempts"] == 1 for a in done)
            for before, after in itertools.pairwise(done):
                assert _when(before["finished_at"]) <= _when(after["started_at"])
            # The others waited their turn.
            assert "its group is at max_parallel; retry in" in stack.log("roomy")
        finally:
            stack.close()
