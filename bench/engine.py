"""Engine benchmark: evaluation time on recorded facts, and a local audit beside OpenSCAP.

    .venv/bin/python bench/engine.py [--repeat N]

Prints (goal in brackets):
  - load time of all 149 stock Wazuh policies (4.x and 5.x) [seconds, not tens of seconds];
  - evaluation time of Wazuh's cis_debian12 (5.x) on facts recorded from this machine, and of
    cis_win2022 on synthetic registry facts [<= 50 ms for 400 checks];
  - wall time and peak RSS of `python -m workers audit --local` with cis_debian12, beside
    `oscap xccdf eval` of the SSG Debian `standard` profile when oscap is installed
    [peak RSS <= 1/3 of oscap's].
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workers.audit import collect  # noqa: E402
from workers.collect.session import CollectorLimits  # noqa: E402
from workers.engine.definitions import PolicyDefinition, RuleType  # noqa: E402
from workers.engine.evaluate import evaluate_check  # noqa: E402
from workers.engine.facts import Facts, RegistryFact, RegistryRequest, RegistryValue  # noqa: E402
from workers.engine.policy import load_policy  # noqa: E402
from workers.transports.local import LocalTransport  # noqa: E402

SHARED = Path(os.environ.get("BULWARK_SHARED_DATA", ROOT.parent / "shared" / "data"))
SSG = Path("/usr/share/xml/scap/ssg/content")


def load(path: Path) -> PolicyDefinition:
    result = load_policy(path)
    if result.policy is None:
        raise SystemExit(f"cannot load {path}: {result.errors[:3]}")
    return result.policy


def time_evaluation(policy: PolicyDefinition, facts: Facts, repeat: int) -> list[float]:
    """Every check evaluated (requirements skipped: synthetic facts need not satisfy them)."""
    timings = []
    for _ in range(repeat):
        fresh = Facts(by_request=facts.by_request, os=facts.os)  # no decoded-text cache
        started = time.perf_counter()
        results = [evaluate_check(policy, check, fresh) for check in policy.checks]
        timings.append((time.perf_counter() - started) * 1000)
        assert len(results) == len(policy.checks)
    return timings


def synthetic_windows_facts(policy: PolicyDefinition) -> Facts:
    """Every key present with every value the rules name, data '1': enough to walk all rules."""
    values: dict[str, dict[str, RegistryValue]] = {}
    for check in policy.checks:
        for rule in check.rules:
            if rule.type is RuleType.REGISTRY:
                named = values.setdefault(rule.locations[0], {})
                if rule.filename:
                    named[rule.filename] = RegistryValue(rule.filename, "REG_DWORD", "1")
    facts = Facts(windows=True)
    for key, named in values.items():
        facts.by_request[RegistryRequest(key)] = RegistryFact(True, values=tuple(named.values()))
    return facts


def report(label: str, checks: int, timings: list[float]) -> None:
    timings = sorted(timings)
    p50 = statistics.median(timings)
    print(
        f"  {label:<28} {checks:>4} checks  median {p50:7.2f} ms  best {timings[0]:7.2f} ms"
        f"  ({p50 * 400 / checks:6.2f} ms per 400 checks)"
    )


def measure(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB (the process and the children it waited for), exit code."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    print("Loading the stock Wazuh policies (parse, validate, lint):")
    for name in ("4x", "5x"):
        paths = sorted((SHARED / f"wazuh-sca-{name}").rglob("*.yml"))
        started = time.perf_counter()
        for path in paths:
            load_policy(path)
        print(f"  wazuh-sca-{name}: {len(paths)} files in {time.perf_counter() - started:.2f} s")

    debian = load(SHARED / "wazuh-sca-5x" / "debian" / "cis_debian12.yml")
    windows = load(SHARED / "wazuh-sca-5x" / "windows" / "cis_win2022.yml")

    print("Evaluation on recorded facts (pure Python, no I/O):")
    facts, stages = collect(LocalTransport(), [debian], limits=CollectorLimits(command_timeout=30))
    print(f"  recorded {len(facts.by_request)} facts from this machine in {stages} stage(s)")
    report("cis_debian12 (5.x)", len(debian.checks), time_evaluation(debian, facts, args.repeat))
    win_facts = synthetic_windows_facts(windows)
    report(
        "cis_win2022 (5.x)", len(windows.checks), time_evaluation(windows, win_facts, args.repeat)
    )
    debian4 = SHARED / "wazuh-sca-4x" / "debian" / "cis_debian12.yml"
    if debian4.exists():
        policy4 = load(debian4)
        facts4, _ = collect(LocalTransport(), [policy4], limits=CollectorLimits(command_timeout=30))
        report(
            "cis_debian12 (4.x, OS_Regex)",
            len(policy4.checks),
            time_evaluation(policy4, facts4, args.repeat),
        )

    print("\nLocal audit, whole process (wall time, peak RSS):")
    ours = [
        sys.executable,
        "-m",
        "workers",
        "audit",
        "--local",
        "--json",
        "--timeout",
        "30",
        "--policy",
        str(SHARED / "wazuh-sca-5x" / "debian" / "cis_debian12.yml"),
    ]
    runs = [measure(ours) for _ in range(3)]
    wall, rss, code = min(runs)
    print(f"  bulwark audit --local cis_debian12   {wall:6.2f} s  {rss:7.1f} MiB  (exit {code})")
    datastreams = sorted(SSG.glob("ssg-debian12-ds.xml")) or sorted(SSG.glob("ssg-debian*-ds.xml"))
    oscap = subprocess.run(["which", "oscap"], capture_output=True, text=True).stdout.strip()
    if not oscap or not datastreams:
        print("  oscap: not installed (apt-get install openscap-scanner ssg-debian to compare)")
        return
    stream = datastreams[-1]
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            oscap,
            "xccdf",
            "eval",
            "--profile",
            "xccdf_org.ssgproject.content_profile_standard",
            "--results",
            f"{tmp}/results.xml",
            str(stream),
        ]
        o_wall, o_rss, o_code = measure(command)
    print(
        f"  oscap xccdf eval {stream.name} standard  {o_wall:6.2f} s  {o_rss:7.1f} MiB"
        f"  (exit {o_code}: 2 means some rules failed)"
    )
    print(f"  peak RSS ratio bulwark/oscap: {rss / o_rss:.2f} (goal <= 0.33)")


if __name__ == "__main__":
    main()
