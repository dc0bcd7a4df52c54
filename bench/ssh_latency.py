"""SSH audit latency: one collector round trip against one exec per rule, at 0 and 50 ms RTT.

    .venv/bin/python bench/ssh_latency.py [--checks 200] [--rtt-ms 0 50]

Starts one test host (needs root), puts the delay proxy in front of its SSH port, and audits it
with the first N checks of Wazuh's cis_debian12 (5.x): Bulwark's single collector execution,
beside a baseline that opens one `exec` per rule on the same connection, as Testinfra and
InSpec do. Also times the host's own collection (the same collector run inside the host, no
network). Goals: ratio <= 0.1 at 50 ms; Bulwark <= 1.5 x own collection + 5 RTT.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.commands import run_command  # noqa: E402
from lab.delay_proxy import DelayProxy  # noqa: E402
from lab.harness import HostSpec, TestHost, TestHosts  # noqa: E402
from lab.namespace_transport import NamespaceTransport  # noqa: E402
from workers.audit import run  # noqa: E402
from workers.engine.definitions import PolicyDefinition, RuleType  # noqa: E402
from workers.engine.policy import load_policy  # noqa: E402
from workers.transports.ssh import SSHTransport  # noqa: E402

SHARED = Path(os.environ.get("BULWARK_SHARED_DATA", ROOT.parent / "shared" / "data"))


def policy_with(checks: int) -> PolicyDefinition:
    policy = load_policy(SHARED / "wazuh-sca-5x" / "debian" / "cis_debian12.yml").policy
    assert policy is not None
    return dataclasses.replace(policy, checks=policy.checks[:checks])


def per_rule_commands(policy: PolicyDefinition) -> list[str]:
    """What a per-check tool runs: one shell command per rule."""
    commands = []
    for check in policy.checks:
        for rule in check.rules:
            if rule.type is RuleType.COMMAND:
                commands.append(" ".join(shlex.quote(a) for a in rule.argv) + " 2>&1")
            elif rule.type is RuleType.FILE:
                commands.extend(f"cat -- {shlex.quote(p)} 2>&1" for p in rule.locations)
            elif rule.type is RuleType.DIRECTORY:
                commands.extend(f"find {shlex.quote(p)} -type f 2>&1" for p in rule.locations)
            elif rule.type is RuleType.PROCESS:
                commands.append("ps -e -o comm=")
    return commands


def bulwark(host: TestHost, address: tuple[str, int], policy: PolicyDefinition) -> float:
    target = host.ssh_target(host=address[0], port=address[1])
    started = time.perf_counter()
    with SSHTransport(target) as transport:
        outcome = run(transport, [policy], command_timeout=30)
        assert transport.executions == 1
    wall = time.perf_counter() - started
    assert len(outcome.results) == len(policy.checks)
    return wall


def baseline(host: TestHost, address: tuple[str, int], commands: list[str]) -> float:
    target = host.ssh_target(host=address[0], port=address[1])
    started = time.perf_counter()
    with SSHTransport(target) as transport:
        for command in commands:
            run_command(transport, command, timeout=60)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--rtt-ms", type=float, nargs="+", default=[0.0, 50.0])
    args = parser.parse_args()
    policy = policy_with(args.checks)
    commands = per_rule_commands(policy)
    print(f"policy: first {len(policy.checks)} checks of cis_debian12, {len(commands)} rules")
    with TestHosts() as hosts:
        host = hosts.start(HostSpec(name="latency"))
        own_times = []
        for _ in range(3):
            started = time.perf_counter()
            run(NamespaceTransport(host=host), [policy], command_timeout=30)
            own_times.append(time.perf_counter() - started)
        own = min(own_times)
        print(f"host's own collection (no network): {own:.3f} s")
        for rtt_ms in args.rtt_ms:
            with DelayProxy(host.address, host.port, delay=rtt_ms / 2000) as proxy:
                ours = min(bulwark(host, proxy.address, policy) for _ in range(3))
                theirs = baseline(host, proxy.address, commands)
            rtt = rtt_ms / 1000
            budget = 1.5 * own + 5 * rtt
            print(
                f"RTT {rtt_ms:4.0f} ms: bulwark {ours:7.3f} s (one exec)   "
                f"per-rule exec {theirs:7.3f} s ({len(commands)} execs)   "
                f"ratio {ours / theirs:.3f}   budget 1.5x own + 5 RTT = {budget:.3f} s "
                f"({'met' if ours <= budget else 'NOT met'})"
            )


if __name__ == "__main__":
    main()
