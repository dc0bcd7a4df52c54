"""Per-check scenarios: for every check of our rulesets, a host where it passes and one where
it fails (CONTRIBUTING.md, "Adding a check"). Scenarios live in
tests/rulesets/scenarios/<policy stem>.yml:

    base: {files: {"/etc/os-release": "..."}}      # merged into every scenario (optional)
    checks:
      bwk-deb12-0001:
        pass: {overrides: {"/proc/sys/kernel/randomize_va_space": "2\\n"}}
        fail: {overrides: {"/proc/sys/kernel/randomize_va_space": "0\\n"}}

A scenario's keys are HostSpec's: files, remove, modes, owners, sysctls, processes, overrides,
setup (and users). Every host also gets the `auditor` user with passwordless sudo: audits log
in as auditor and run the collector as root, so a scenario may forbid root logins.

One more key, `commands`, stands for programs that report kernel state the test hosts cannot
have of their own: {program: {arguments: output}}, each output what the real program prints
for those arguments, in its real format. Test hosts share this machine's kernel, and loading
audit rules, nftables rulesets or AppArmor profiles there would change the machine for
everyone, so the host gets an executable of that name in /usr/local/sbin, first in sudo's
secure_path as on a stock Debian or Ubuntu, that prints the given output. Served today:
  auditctl -l / -s   the loaded audit rules and status (`-F key=` for `-k`, `auid!=-1` for
                     `auid!=unset`, directory watches without their trailing slash, `-S all`
                     on rules without syscalls, permissions in rwxa order; `enabled 2`);
  nft list ruleset   the loaded nftables ruleset;
  aa-status          AppArmor's profile and process counts.
  iptables -L -n -v  the loaded IPv4 filter rules (ip6tables -L -n -v: IPv6), iptables 1.8.9's
                     format (protocol numbers, `0` for all).
Without the key the host has none of these programs, like a host without the package: the
command prints nothing and a rule that needs its output fails.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lab.harness import HostSpec, TestUser

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
AUDITOR = TestUser("auditor", sudo="nopasswd", shell="/bin/sh")
SPEC_KEYS = {
    "files", "remove", "modes", "owners", "sysctls", "processes", "overrides", "setup", "commands"
}  # fmt: skip
STAND_INS = "/usr/local/sbin"


@dataclass(frozen=True)
class Scenario:
    check_id: str
    expect: str  # "passed" or "failed"
    spec: dict[str, Any]


def scenario_file(policy_path: Path) -> Path:
    return SCENARIOS / f"{policy_path.stem}.yml"


def load_scenarios(policy_path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(base, {check_id: {"pass": spec, "fail": spec}}) for one policy file."""
    path = scenario_file(policy_path)
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    data = data or {}
    return data.get("base") or {}, {str(k): v for k, v in (data.get("checks") or {}).items()}


def _merge(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for key in SPEC_KEYS:
        left, right = base.get(key), own.get(key)
        if isinstance(left, dict) or isinstance(right, dict):
            merged[key] = {**(left or {}), **(right or {})}
        elif left is not None or right is not None:
            merged[key] = [*(left or []), *(right or [])]
    return merged


def host_spec(name: str, base: dict[str, Any], own: dict[str, Any]) -> HostSpec:
    unknown = set(own) - SPEC_KEYS
    if unknown:
        raise ValueError(f"unknown scenario keys: {sorted(unknown)}")
    spec = _merge(base, own)
    modes = {path: int(str(mode), 8) for path, mode in (spec.pop("modes", None) or {}).items()}
    # YAML gives [uid, gid] as a list; the harness takes "user:group" or a (uid, gid) tuple.
    owners = {
        path: tuple(owner) if isinstance(owner, list) else owner
        for path, owner in (spec.pop("owners", None) or {}).items()
    }
    programs = spec.pop("commands", None)
    if programs:
        spec["setup"] = [*(spec.get("setup") or []), stand_ins_setup(programs)]
    return HostSpec(name=name, modes=modes, owners=owners, users=[AUDITOR], **spec)


def stand_ins_setup(programs: dict[str, dict[str, str]]) -> str:
    """A setup line giving the host the stand-in programs of `commands` (see above)."""
    lines = [f"mount -t tmpfs -o mode=0755,size=1m tmpfs {STAND_INS}"]
    for program, outputs in programs.items():
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", program):
            raise ValueError(f"stand-in program names are plain command names: {program!r}")
        cases = "".join(
            f"  {shlex.quote(arguments)}) printf '%s' {shlex.quote(text)} ;;\n"
            for arguments, text in outputs.items()
        )
        script = (
            "#!/bin/sh\n# Test host stand-in: what this scenario says the kernel has loaded.\n"
            f'case "$*" in\n{cases}'
            f'  *) echo "{program} stand-in: $* is not served" >&2; exit 1 ;;\nesac\n'
        )
        path = f"{STAND_INS}/{program}"
        lines.append(f"printf '%s' {shlex.quote(script)} > {path} && chmod 0755 {path}")
    return " && ".join(lines)
