"""End to end through the API: create a group, a credential and a host, start an audit, and read
back results, score and category summary. On PostgreSQL with a real Celery worker process and
the Redis broker; and on the embedded default (SQLite, tasks in-process). Secrets never reach a
response, a log line or a broker message."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.harness import HostSpec, TestHost, TestHosts
from tests.bulwark.e2e.stack import (
    Api,
    Stack,
    postgres_database,
    redis_broker_url,
    wait_for_audit,
)

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)


@pytest.fixture(scope="module")
def target(test_hosts: TestHosts) -> Iterator[TestHost]:
    host = test_hosts.start(HostSpec("e2e-target"))
    yield host
    host.stop()


def _key_lines(target: TestHost) -> list[str]:
    """The private key's body lines: what a leak would show."""
    return [line for line in target.client_key.splitlines() if len(line) > 20]


def _register(api: Api, target: TestHost) -> dict[str, Any]:
    group = api.post("/api/groups/", {"name": "e2e"})
    credential = api.post(
        "/api/credentials/",
        {
            "group": group["id"],
            "name": "root-key",
            "kind": "ssh-key",
            "username": "root",
            "secret": target.client_key,
        },
    )
    assert credential["has_secret"] and "secret" not in credential
    host: dict[str, Any] = api.post(
        "/api/hosts/",
        {
            "name": "e2e-target",
            "address": target.address,
            "port": target.port,
            "group": group["id"],
            "credential": credential["id"],
            "host_key": target.host_key_line,
        },
    )
    return host


def _check_audit(api: Api, audit: dict[str, Any], host_id: int) -> None:
    assert audit["status"] == "done", audit["error_reason"]
    total = audit["passed"] + audit["failed"] + audit["not_applicable"]
    assert audit["passed"] + audit["failed"] > 0
    assert audit["score"] == round(audit["passed"] * 100 / (audit["passed"] + audit["failed"]), 2)
    results = api.get("/api/results/", audit=audit["id"], limit=1)
    assert results["count"] == total
    failed = api.get("/api/results/", audit=audit["id"], status="failed", limit=1000)
    assert failed["count"] == audit["failed"]
    categories = audit["categories"]
    assert categories and sum(c["passed"] for c in categories) == audit["passed"]
    assert sum(c["failed"] for c in categories) == audit["failed"]
    host = api.get(f"/api/hosts/{host_id}/")
    assert host["latest_score"] == audit["score"] and host["reported_hostname"] == "e2e-target"
    assert host["os_version"] == "12" and host["state"] != "unknown"
    history = api.get("/api/score-samples/", host=host_id)
    assert history["count"] == 1 and history["results"][0]["score"] == audit["score"]


def _queued_messages(broker_url: str) -> list[dict[str, Any]]:
    import redis

    client = redis.Redis.from_url(broker_url)
    return [json.loads(raw) for raw in client.lrange("celery", 0, -1)]


def test_on_postgres_a_celery_worker_audits_a_host_registered_through_the_api(
    tmp_path: Path, target: TestHost
) -> None:
    broker = redis_broker_url()
    with postgres_database() as database:
        stack = Stack(tmp_path, database_url=database, broker_url=broker)
        try:
            api = stack.prepare()
            host = _register(api, target)
            (audit,) = api.post(f"/api/hosts/{host['id']}/audit/", expect=202)
            assert audit["status"] == "queued"  # no worker runs yet: the message waits
            (message,) = _queued_messages(broker)
            raw = json.dumps(message)
            args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            assert message["headers"]["task"] == "audits.audit_host"
            assert (args, kwargs) == ([audit["id"]], {})  # only the id travels
            for line in _key_lines(target):
                assert line not in raw
            stack.start_worker()
            done = wait_for_audit(stack, api, audit["id"])
            _check_audit(api, done, host["id"])
            assert f"Task audits.audit_host[{message['headers']['id']}]" in stack.log("worker")
            _no_secret_in_logs(stack, target)
        finally:
            stack.close()


def test_the_embedded_default_audits_in_process_on_sqlite(tmp_path: Path, target: TestHost) -> None:
    stack = Stack(tmp_path)  # no DATABASE_URL, no broker: SQLite in the data dir, eager tasks
    try:
        api = stack.prepare()
        assert (tmp_path / "data" / "bulwark.sqlite3").exists()
        host = _register(api, target)
        (audit,) = api.post(f"/api/hosts/{host['id']}/audit/", expect=202)
        assert audit["status"] == "done"  # ran inside the request, after its commit
        _check_audit(api, api.get(f"/api/audits/{audit['id']}/"), host["id"])
        _no_secret_in_logs(stack, target)
    finally:
        stack.close()


def _no_secret_in_logs(stack: Stack, target: TestHost) -> None:
    logs = stack.all_logs()
    assert "paramiko" in logs  # the SSH library's DEBUG output is in there ...
    for line in _key_lines(target):
        assert line not in logs  # ... and no line of the private key
