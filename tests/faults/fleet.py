"""A fleet under fault injection: SSH test hosts audited by a whole Bulwark in processes
(gunicorn, Celery workers and beat) on a PostgreSQL database of its own and a redis-server of its
own (so a restart empties only it). A round requests an audit of some hosts, injects one fault,
waits, and reports what became of every audit, read straight from the database."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from lab.harness import HostSpec, TestHost, TestHosts
from tests.bulwark.e2e.stack import Api, Stack, free_port, postgres_database

# Short leases and budgets so a fault costs seconds, not the production minutes.
LEASE = 20
MAX_SECONDS = 12.0
REQUEUE_AFTER = 5.0
REAP_INTERVAL = 1.0
COMMAND_TIMEOUT = 5.0
# The issue's bound: re-drive + lease + budget, plus what the retries' backoff can add (two
# retries of at most 3 s) and a reaper tick.
BOUND = REQUEUE_AFTER + LEASE + MAX_SECONDS + 2 * 3.0 + 2 * REAP_INTERVAL
SETTINGS = {
    "AUDIT_LEASE_SECONDS": str(LEASE),
    "AUDIT_MAX_SECONDS": str(MAX_SECONDS),
    "AUDIT_REQUEUE_AFTER": str(REQUEUE_AFTER),
    "AUDIT_REAP_INTERVAL": str(REAP_INTERVAL),
    "AUDIT_COMMAND_TIMEOUT": str(COMMAND_TIMEOUT),
    "AUDIT_MAX_RETRIES": "2",
    "AUDIT_RETRY_BACKOFF": "1",
    "AUDIT_RETRY_BACKOFF_MAX": "3",
    "CELERY_VISIBILITY_TIMEOUT": str(LEASE + 10),
    "LOG_LEVEL": "INFO",
    "PARAMIKO_LOG_LEVEL": "WARNING",
}
BIG_MARKER = "big-output"
BIG = 64 * 1024 * 1024
# A check that takes a moment (so faults land mid-audit), one that sends 64 MiB where the
# marker file exists, and a quick one.
POLICY = f"""\
policy:
  id: faults
  file: faults.yml
  name: "Fault injection"
  description: "A slow check, a big one where asked, a quick one."
checks:
  - id: 9501
    title: "A command that takes a moment"
    compliance:
      - cis_csc_v8: ["4.1"]
    condition: all
    rules:
      - 'c:sh -c "sleep 2; echo done" -> r:^done'
  - id: 9502
    title: "A command that may answer with 64 MiB"
    compliance:
      - cis_csc_v8: ["4.2"]
    condition: all
    rules:
      - 'c:sh -c "[ -e /etc/{BIG_MARKER} ] && yes 0123456789 | head -c {BIG}; echo ok" -> r:ok$'
  - id: 9503
    title: "The password file exists"
    compliance:
      - cis_csc_v8: ["5.1"]
    condition: all
    rules:
      - 'f:/etc/passwd'
"""
CHECKS = 3


@dataclass(frozen=True)
class Report:
    """What became of one round's audits."""

    fault: str
    requested: int
    done: int
    error: int
    lost: int  # still queued or running at the bound
    duplicated: int  # audits with more than one result set, score sample or alert per kind
    worst_seconds: float  # request to finish, over the finished audits
    reasons: tuple[str, ...]

    def row(self) -> str:
        return (
            f"{self.fault:<28} {self.requested:>9} {self.done:>5} {self.error:>5} "
            f"{self.lost:>4} {self.duplicated:>10} {self.worst_seconds:>10.1f}"
        )


HEADER = (
    f"{'fault':<28} {'requested':>9} {'done':>5} {'error':>5} {'lost':>4} {'duplicated':>10} "
    f"{'worst (s)':>10}"
)


class Redis:
    """A redis-server of our own on a loopback port; restart() brings it back empty."""

    def __init__(self, directory: Path) -> None:
        self.dir, self.port = directory, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.address = ("127.0.0.1", self.port)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.dir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 1),
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()  # SIGKILL: no save, no AOF, every message gone
        self.start()


class SilentServer:
    """Accepts TCP connections and never says a word (a host that hangs before its banner)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.held.append(self.socket.accept()[0])

    def close(self) -> None:
        for connection in [*self.held, self.socket]:
            connection.close()


class Fleet:
    """The stack, its database, its Redis and the hosts, registered through the API."""

    def __init__(self, directory: Path, test_hosts: TestHosts, size: int) -> None:
        self.dir = directory
        self.test_hosts = test_hosts
        self.size = size
        self.redis = Redis(directory)
        self.silent = SilentServer()
        self.hosts: dict[str, TestHost] = {}
        self.ids: dict[str, int] = {}
        self.stack: Stack
        self.api: Api
        self.database = ""
        self.workers: list[str] = []
        self.started_workers = 0

    @contextlib.contextmanager
    def running(self) -> Iterator[Fleet]:
        specs = [HostSpec(f"fleet-{i:02d}") for i in range(self.size)]
        specs.append(HostSpec("fleet-big", files={f"/etc/{BIG_MARKER}": "1\n"}))
        started = self.test_hosts.start_many(specs, timeout=90)
        self.hosts = {host.name: host for host in started}
        self.redis.start()
        try:
            with postgres_database() as database:
                self.database = database
                self.stack = Stack(self.dir, database_url=database, broker_url=self.redis.url,
                                   **SETTINGS)  # fmt: skip
                try:
                    self.api = self.stack.prepare(sync=False)
                    self._register()
                    self.stack.start_beat()
                    self.start_worker(self.next_worker())
                    self.start_worker(self.next_worker())
                    yield self
                finally:
                    self.stack.close()
        finally:
            self.redis.stop()
            self.silent.close()
            for host in started:
                host.stop()

    def _register(self) -> None:
        api = self.api
        api.post("/api/policies/import/", {"files": [{"name": "faults.yml", "content": POLICY}]})
        group = api.post("/api/groups/", {"name": "fleet"})
        self.group_id = group["id"]
        key = next(iter(self.hosts.values())).client_key
        credential = api.post("/api/credentials/", {"group": group["id"], "name": "root-key",
                              "kind": "ssh-key", "username": "root", "secret": key})  # fmt: skip
        for name, host in self.hosts.items():
            self.ids[name] = api.post("/api/hosts/", {
                "name": name, "address": host.address, "port": host.port, "group": group["id"],
                "credential": credential["id"], "host_key": host.host_key_line,
            })["id"]  # fmt: skip
        self.ids["silent"] = api.post("/api/hosts/", {
            "name": "silent", "address": "127.0.0.1", "port": self.silent.port,
            "group": group["id"], "credential": credential["id"], "trust_on_first_use": True,
        })["id"]  # fmt: skip

    def fleet_names(self) -> list[str]:
        return [name for name in self.hosts if name.startswith("fleet-") and name != "fleet-big"]

    def next_worker(self) -> str:
        self.started_workers += 1
        return f"w{self.started_workers}"

    def start_worker(self, name: str) -> None:
        self.stack.start_worker(name, concurrency=4)
        if name not in self.workers:
            self.workers.append(name)

    def kill_worker(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.stack.kill(name, sig)
        self.workers.remove(name)

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database, autocommit=True) as connection:
            return connection.execute(query, params).fetchall()  # type: ignore[arg-type]

    def statuses(self, ids: list[int]) -> dict[int, str]:
        rows = self.sql("SELECT id, status FROM audits_audit WHERE id = ANY(%s)", ids)
        return dict(rows)

    def wait_running(self, ids: list[int], count: int = 1, timeout: float = 60) -> None:
        self.stack.wait_for(
            lambda: sum(s == "running" for s in self.statuses(ids).values()) >= count,
            timeout, f"{count} audit(s) running",
        )  # fmt: skip

    def set_interval(self, schedule_id: int, seconds: int) -> None:
        """Make a schedule's beat task fire every `seconds` (days are the API's minimum), and
        tell beat's DatabaseScheduler its tasks changed."""
        with psycopg.connect(self.database, autocommit=True) as connection:
            (interval,) = connection.execute(
                "INSERT INTO django_celery_beat_intervalschedule (every, period) "
                "VALUES (%s, 'seconds') RETURNING id", (seconds,),
            ).fetchone() or ()  # fmt: skip
            connection.execute(
                "UPDATE django_celery_beat_periodictask SET interval_id = %s, last_run_at = NULL "
                "WHERE id = (SELECT periodic_task_id FROM audits_schedule WHERE id = %s)",
                (interval, schedule_id),
            )
            connection.execute("UPDATE django_celery_beat_periodictasks SET last_update = now()")

    def terminate_backends(self) -> int:
        """pg_terminate_backend on every connection to the fleet's database but this one."""
        name = self.database.rsplit("/", 1)[1]
        rows = self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", name,
        )  # fmt: skip
        return len(rows)

    def round(self, fault: str, names: list[str], inject: Callable[[list[int]], Any],
              *, allowance: float = 0.0) -> Report:  # fmt: skip
        """Audit `names`, run `inject(audit ids)`, wait for the bound (plus `allowance`, the
        time the fault itself kept every worker away), report."""
        started = time.monotonic()
        ids = [self.api.post(f"/api/hosts/{self.ids[n]}/audit/", expect=202)[0]["id"]
               for n in names]  # fmt: skip
        inject(ids)
        deadline = started + BOUND + allowance
        while time.monotonic() < deadline:
            if all(s in ("done", "error") for s in self.statuses(ids).values()):
                break
            time.sleep(0.5)
        return self.report(fault, ids)

    def report(self, fault: str, ids: list[int]) -> Report:
        rows = self.sql(
            "SELECT a.id, a.status, a.error_reason, "
            " EXTRACT(EPOCH FROM a.finished_at - a.created_at), a.passed + a.failed "
            " + a.not_applicable, (SELECT count(*) FROM audits_result r WHERE r.audit_id = a.id),"
            " (SELECT count(*) FROM audits_scoresample s WHERE s.audit_id = a.id),"
            " (SELECT count(*) - count(DISTINCT e.kind) FROM audits_alertevent e"
            "   WHERE e.audit_id = a.id), a.results_reduced,"
            " (SELECT count(*) - count(DISTINCT r.policy_check_id) FROM audits_result r"
            "   WHERE r.audit_id = a.id) "
            "FROM audits_audit a WHERE a.id = ANY(%s)", ids,
        )  # fmt: skip
        done = [r for r in rows if r[1] == "done"]
        errors = [r for r in rows if r[1] == "error"]
        # An older audit reduced to its changes (docs/history.md) holds fewer rows than its
        # counts: for it, a duplicate is a check stored twice.
        duplicated = sum(
            1
            for r in done
            if (r[5] != r[4] and not r[8]) or r[9] or r[4] != CHECKS or r[6] != 1 or r[7] > 0
        ) + sum(1 for r in errors if r[5] or r[6])
        times = [float(r[3]) for r in done + errors if r[3] is not None]
        return Report(
            fault=fault,
            requested=len(ids),
            done=len(done),
            error=len(errors),
            lost=len(ids) - len(done) - len(errors),
            duplicated=duplicated,
            worst_seconds=max(times, default=0.0),
            reasons=tuple(sorted({r[2] for r in errors})),
        )
