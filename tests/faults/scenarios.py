"""The faults, each a round of audits on a Fleet with one failure injected mid-way; shared by
tests/faults/test_faults.py (which asserts) and bench/faults.py (which prints the table)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

from tests.faults.fleet import BOUND, Fleet, Report


def worker_sigkill(fleet: Fleet) -> Report:
    def inject(ids: list[int]) -> None:
        fleet.wait_running(ids, count=2)
        fleet.kill_worker(fleet.workers[0])  # its leases expire, the reaper re-queues
        fleet.start_worker(fleet.next_worker())

    return fleet.round("worker SIGKILL", fleet.fleet_names(), inject)


def worker_sigterm(fleet: Fleet) -> Report:
    def inject(ids: list[int]) -> None:
        fleet.wait_running(ids, count=2)
        fleet.kill_worker(fleet.workers[0], signal.SIGTERM)  # warm shutdown
        fleet.start_worker(fleet.next_worker())

    return fleet.round("worker SIGTERM", fleet.fleet_names(), inject)


OUTAGE = 8.0


def workers_down_redis_empty(fleet: Fleet) -> Report:
    for name in list(fleet.workers):  # nobody may take the audits before the restart
        fleet.kill_worker(name)

    def inject(ids: list[int]) -> None:
        fleet.redis.restart()  # every queued message is gone: only the table knows
        time.sleep(OUTAGE)
        fleet.start_worker(fleet.next_worker())
        fleet.start_worker(fleet.next_worker())

    names = fleet.fleet_names()
    return fleet.round("workers down + Redis empty", names, inject, allowance=OUTAGE + 20)


def redis_restart_running(fleet: Fleet) -> Report:
    def inject(ids: list[int]) -> None:
        fleet.wait_running(ids, count=2)
        fleet.redis.restart()

    return fleet.round("Redis restart mid-audit", fleet.fleet_names(), inject)


def postgres_terminated(fleet: Fleet) -> Report:
    def inject(ids: list[int]) -> None:
        fleet.wait_running(ids, count=2)
        for _ in range(6):  # for about three seconds, every connection of every process
            fleet.terminate_backends()
            time.sleep(0.5)

    return fleet.round("PostgreSQL terminated", fleet.fleet_names(), inject)


HOST_FAULTS = ["silent", "fleet-big", "fleet-01", "fleet-02", "fleet-03"]


def host_faults(fleet: Fleet) -> Report:
    """A host that never speaks, one answering 64 MiB, one whose sshd is SIGKILLed and one
    whose link goes down mid-collection, beside a healthy one."""

    def inject(ids: list[int]) -> None:
        fleet.wait_running(ids, count=3)
        killed, unplugged = fleet.hosts["fleet-01"], fleet.hosts["fleet-02"]
        unplugged.run_local("ip link set eth0 down")
        os.kill(killed.pid, signal.SIGKILL)  # its sshd (PID 1 of the host) and all it ran

    return fleet.round("host faults", HOST_FAULTS, inject)


SCHEDULE_INTERVAL = 6


def beats(fleet: Fleet) -> tuple[Report, list[tuple[int, object]], int]:
    """A schedule firing every few seconds under two beats at once, one of them SIGKILLed and
    restarted around a due time. Returns the report of the audits it started, the runs
    (period, time) and how many firings beat logged."""
    host_id = fleet.ids["fleet-00"]
    schedule = fleet.api.post("/api/schedules/", {"host": host_id, "interval_days": 1})
    fleet.set_interval(schedule["id"], SCHEDULE_INTERVAL)
    fleet.stack.spawn("beat-2", list(fleet.stack.processes["beat"].args))  # type: ignore[arg-type]
    time.sleep(SCHEDULE_INTERVAL * 2.5)
    fleet.stack.kill("beat")
    fleet.stack.start_beat()
    time.sleep(SCHEDULE_INTERVAL * 2.5)
    fleet.api.call("PATCH", f"/api/schedules/{schedule['id']}/", {"enabled": False})
    fleet.stack.kill("beat-2", signal.SIGTERM)
    runs = fleet.sql(
        "SELECT period, created_at FROM audits_schedulerun WHERE schedule_id = %s ORDER BY period",
        schedule["id"],
    )
    sent = fleet.stack.all_logs().count("Sending due task bulwark schedule")
    audits = [
        a
        for (a,) in fleet.sql(
            "SELECT id FROM audits_audit WHERE host_id = %s AND trigger = 'schedule'", host_id
        )
    ]
    deadline = time.monotonic() + BOUND
    report = fleet.report("two beats + beat restart", audits)
    while report.lost and time.monotonic() < deadline:
        time.sleep(0.5)
        report = fleet.report("two beats + beat restart", audits)
    return report, [(p, t) for p, t in runs], sent


ROUNDS: list[Callable[[Fleet], Report]] = [
    worker_sigkill,
    worker_sigterm,
    workers_down_redis_empty,
    redis_restart_running,
    postgres_terminated,
    host_faults,
]
