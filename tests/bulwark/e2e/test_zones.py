"""Worker zones with real processes on PostgreSQL and Redis: two zones, one worker process each
(`manage.py worker --zone NAME`), SSH test hosts in both; each worker audits only its zone's
hosts (a host's own zone overrides its group's), and the zone view shows the live workers and
warns about a zone whose worker is gone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from lab.harness import HostSpec, TestHost, TestHosts
from tests.bulwark.e2e.stack import (
    PYTHON,
    ROOT,
    Api,
    Stack,
    postgres_database,
    redis_broker_url,
    wait_for_audit,
)
from tests.bulwark.world import TINY_POLICY

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)


@pytest.fixture(scope="module")
def targets(test_hosts: TestHosts) -> Iterator[list[TestHost]]:
    hosts = test_hosts.start_many([HostSpec(f"zone-host-{n}") for n in range(4)])
    yield hosts
    for host in hosts:
        host.stop()


def start_zone_worker(stack: Stack, name: str, zone: str) -> None:
    stack.spawn(
        name,
        [PYTHON, str(ROOT / "manage.py"), "worker", "--zone", zone, "--concurrency", "2", "--",
         "--hostname", f"{name}@e2e", "--loglevel", "INFO", "--without-gossip",
         "--without-mingle"],
    )  # fmt: skip
    stack.wait_for(lambda: "ready." in stack.log(name), 60, f"{name} to be ready")


def register(api: Api, target: TestHost, group: dict[str, Any], zone: str = "") -> Any:
    credential = api.post(
        "/api/credentials/",
        {"group": group["id"], "name": f"key-{target.name}", "kind": "ssh-key",
         "username": "root", "secret": target.client_key},
    )  # fmt: skip
    return api.post(
        "/api/hosts/",
        {"name": target.name, "address": target.address, "port": target.port,
         "group": group["id"], "credential": credential["id"], "zone": zone,
         "host_key": target.host_key_line},
    )  # fmt: skip


def audited_by(stack: Stack, worker: str) -> set[str]:
    return set(re.findall(r"audit \d+ of (\S+) done", stack.log(worker)))


def test_each_zone_s_worker_audits_only_its_zone_s_hosts(
    tmp_path: Path, targets: list[TestHost]
) -> None:
    broker = redis_broker_url()
    with postgres_database() as database:
        stack = Stack(
            tmp_path, database_url=database, broker_url=broker, WORKER_HEARTBEAT_SECONDS="1"
        )
        try:
            api = stack.prepare(sync=False)
            api.post("/api/policies/import/", {"files": [
                {"name": "tiny_policy.yml", "content": TINY_POLICY}]})  # fmt: skip
            east = api.post("/api/groups/", {"name": "east", "zone": "site-east"})
            west = api.post("/api/groups/", {"name": "west", "zone": "site-west"})
            refused = api.post("/api/groups/", {"name": "bad", "zone": "Not A Zone"}, expect=400)
            assert "zone" in refused
            e0 = register(api, targets[0], east)
            e1 = register(api, targets[1], east)
            w0 = register(api, targets[2], west)
            # In the west group, reached from the east site: its own zone wins.
            w1 = register(api, targets[3], west, zone="site-east")
            assert (w0["effective_zone"], w1["effective_zone"]) == ("site-west", "site-east")

            audits = [api.post(f"/api/hosts/{h['id']}/audit/", expect=202)[0]
                      for h in (e0, e1, w0, w1)]  # fmt: skip
            queued = redis.Redis.from_url(broker)
            assert queued.llen("zone.site-east") == 3 and queued.llen("zone.site-west") == 1
            assert queued.llen("celery") == 0

            start_zone_worker(stack, "east-worker", "site-east")
            start_zone_worker(stack, "west-worker", "site-west")
            for audit in audits:
                done = wait_for_audit(stack, api, audit["id"])
                assert done["status"] == "done", done["error_reason"]
            assert audited_by(stack, "east-worker") == {
                targets[0].name, targets[1].name, targets[3].name}  # fmt: skip
            assert audited_by(stack, "west-worker") == {targets[2].name}

            zones = {z["name"]: z for z in api.get("/api/zones/")}
            assert set(zones) == {"site-east", "site-west"}
            east_zone = zones["site-east"]
            assert (east_zone["hosts"], east_zone["queue"]) == (3, "zone.site-east")
            (worker,) = east_zone["workers"]
            assert worker["hostname"] == "east-worker@e2e" and worker["alive"]
            assert worker["concurrency"] == 2 and worker["last_seen"]
            assert east_zone["live_workers"] == 1 and east_zone["warning"] == ""

            _stop(stack)  # a clean shutdown: the worker marks itself stopped
            west_zone = stack.wait_for(
                lambda: _zone_without_worker(api, "site-west"), 30, "the west worker to be gone"
            )
            assert west_zone["hosts"] == 1
            assert "no live worker" in west_zone["warning"]
            assert "manage.py worker --zone site-west" in west_zone["warning"]
            (gone,) = west_zone["workers"]
            assert not gone["alive"] and gone["stopped"]
        finally:
            stack.close()


def _stop(stack: Stack) -> None:
    import signal

    stack.kill("west-worker", signal.SIGTERM)


def _zone_without_worker(api: Api, name: str) -> dict[str, Any] | None:
    zone: dict[str, Any] = next(z for z in api.get("/api/zones/") if z["name"] == name)
    return zone if zone["live_workers"] == 0 else None
