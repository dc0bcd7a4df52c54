"""Fleet benchmark: N real SSH test hosts in two zones, audited by two worker processes (one per
zone, `manage.py worker --zone`), through PostgreSQL, Redis and the API, like production.

    DATABASE_URL=postgres://USER:PASS@127.0.0.1:5432/ANY \
    BULWARK_TEST_BROKER_URL=redis://127.0.0.1:6379/N \
        .venv/bin/python bench/fleet.py [--hosts 200] [--policy openssh|all] [--concurrency 32]

Needs root (test hosts are network namespaces). Works in a throwaway database it drops at the
end, and empties the Redis database of BULWARK_TEST_BROKER_URL. Prints (goals in brackets):
hosts per hour (wall time from the first request to the last audit done), worker CPU seconds
per audit [<= 0.1 for a 400-check audit], peak RSS per worker [<= 300 MiB at concurrency 32],
p50/p95 of request-to-done per audit, and the audits' own collection-and-evaluation time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.harness import HostSpec, TestHost, TestHosts  # noqa: E402
from tests.bulwark.e2e.stack import (  # noqa: E402
    PYTHON,
    Api,
    Stack,
    postgres_database,
    redis_broker_url,
)

ZONES = ("site-a", "site-b")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def keep_policies(api: Api, choice: str) -> int:
    """Disable every policy but the OpenSSH one (`openssh`), or keep them all; the number of
    checks an audit of this machine's Debian evaluates is printed later."""
    policies = api.get("/api/policies/", limit=1000)["results"]
    for policy in policies:
        if choice == "openssh" and policy["policy_id"] != "bulwark_openssh":
            api.call("PATCH", f"/api/policies/{policy['id']}/", {"enabled": False})
    return len(policies) if choice == "all" else 1


def register(api: Api, hosts: list[TestHost]) -> list[dict[str, Any]]:
    groups = []
    for zone in ZONES:
        group = api.post("/api/groups/", {"name": zone, "zone": zone})
        credential = api.post(
            "/api/credentials/",
            {"group": group["id"], "name": "root-key", "kind": "ssh-key", "username": "root",
             "secret": hosts[0].client_key},
        )  # fmt: skip
        groups.append((group, credential))
    for number, host in enumerate(hosts):
        group, credential = groups[number % 2]
        api.post(
            "/api/hosts/",
            {"name": host.name, "address": host.address, "port": host.port,
             "group": group["id"], "credential": credential["id"],
             "host_key": host.host_key_line},
        )  # fmt: skip
    return [group for group, _ in groups]


def all_audits(api: Api) -> list[dict[str, Any]]:
    audits: list[dict[str, Any]] = []
    while True:
        page = api.get("/api/audits/", limit=1000, offset=len(audits))
        audits += page["results"]
        if len(audits) >= page["count"]:
            return audits


def start_worker(stack: Stack, zone: str, concurrency: int) -> int:
    name = f"worker-{zone}"
    process = stack.spawn(
        name,
        [PYTHON, str(ROOT / "manage.py"), "worker", "--zone", zone,
         "--concurrency", str(concurrency), "--", "--hostname", f"{name}@bench",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
    )  # fmt: skip
    stack.wait_for(lambda: "ready." in stack.log(name), 120, f"{name} to be ready")
    return process.pid


def run(args: argparse.Namespace, directory: Path) -> None:
    broker = redis_broker_url()
    with TestHosts() as lab, postgres_database() as database:
        started = time.perf_counter()
        hosts = lab.start_many([HostSpec(f"fleet-{n}") for n in range(args.hosts)], timeout=120)
        print(f"{len(hosts)} test hosts up in {time.perf_counter() - started:.1f} s")
        stack = Stack(directory, database_url=database, broker_url=broker, LOG_LEVEL="WARNING",
                      PARAMIKO_LOG_LEVEL="WARNING")  # fmt: skip
        try:
            api = stack.prepare()
            keep_policies(api, args.policy)
            groups = register(api, hosts)
            pids = {zone: start_worker(stack, zone, args.concurrency) for zone in ZONES}
            cpu_before = {zone: cpu_seconds(pid) for zone, pid in pids.items()}
            t0 = time.perf_counter()
            for group in groups:
                api.post(f"/api/groups/{group['id']}/audit/", expect=202)

            def finished() -> bool:
                done = api.get("/api/audits/", status="done", limit=1)["count"]
                failed = api.get("/api/audits/", status="error", limit=1)["count"]
                return done + failed >= len(hosts)

            stack.wait_for(finished, args.max_wait, "every audit to finish")
            wall = time.perf_counter() - t0
            cpu = {zone: cpu_seconds(pid) - cpu_before[zone] for zone, pid in pids.items()}
            rss = {zone: peak_rss_mib(pid) for zone, pid in pids.items()}
            report(args, all_audits(api), wall, cpu, rss)
        finally:
            stack.close()


def report(
    args: argparse.Namespace,
    audits: list[dict[str, Any]],
    wall: float,
    cpu: dict[str, float],
    rss: dict[str, float],
) -> None:
    done = [a for a in audits if a["status"] == "done"]
    errors = [a for a in audits if a["status"] == "error"]
    checks = statistics.median(a["passed"] + a["failed"] + a["not_applicable"] for a in done)
    latency = sorted((when(a["finished_at"]) - when(a["created_at"])).total_seconds()
                     for a in audits)  # fmt: skip
    own = sorted(a["seconds"] for a in done if a["seconds"] is not None)
    per_zone = {z: sum(1 for a in audits if a["host_name"] and z in _zone_of(a)) for z in ZONES}
    print(f"policy {args.policy}: {len(done)} audits done, {len(errors)} errors, "
          f"{checks:.0f} checks per audit (median); audits per zone {per_zone}")  # fmt: skip
    if errors:
        print("  first error:", errors[0]["error_reason"][:300])
    print(f"hosts/hour: {len(audits) / wall * 3600:,.0f} ({len(audits)} hosts in {wall:.1f} s)")
    for zone in ZONES:
        share = max(1, sum(1 for a in audits if zone in _zone_of(a)))
        print(f"worker {zone}: CPU {cpu[zone]:.2f} s = {cpu[zone] / share:.3f} s per audit "
              f"[goal <= 0.1 at 400 checks], peak RSS {rss[zone]:.0f} MiB "
              f"[goal <= 300 at concurrency 32], concurrency {args.concurrency}")  # fmt: skip
    print(f"request to done: p50 {_pct(latency, 50):.2f} s, p95 {_pct(latency, 95):.2f} s, "
          f"max {latency[-1]:.2f} s")  # fmt: skip
    if own:
        print(f"collection + evaluation per audit: p50 {_pct(own, 50):.2f} s, "
              f"p95 {_pct(own, 95):.2f} s")  # fmt: skip


def _zone_of(audit: dict[str, Any]) -> str:
    # Hosts alternate between the zones: fleet-0 site-a, fleet-1 site-b, ...
    return ZONES[int(audit["host_name"].rsplit("-", 1)[1]) % 2]


def _pct(values: list[float], p: int) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--policy", choices=("openssh", "all"), default="openssh")
    parser.add_argument("--concurrency", type=int, default=32, help="per worker")
    parser.add_argument("--max-wait", type=float, default=3600.0, help="seconds")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/fleet.py: test hosts need root")
    for variable in ("DATABASE_URL", "BULWARK_TEST_BROKER_URL"):
        if not os.environ.get(variable):
            sys.exit(f"bench/fleet.py: set {variable} (see the docstring)")
    with tempfile.TemporaryDirectory(prefix="bulwark-fleet-") as directory:
        run(args, Path(directory))


if __name__ == "__main__":
    main()
