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

The key `auditor: {sudo: password}` gives the auditor a sudo rule that asks for its password
(`auditor ALL=(ALL:ALL) ALL`) instead of the NOPASSWD one: the audit then sends that password,
as a site whose sudoers grant no NOPASSWD would configure Bulwark (`auditor_target`). A host
whose every sudo rule asks for a password is what 5.2.4 passes on.

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
An output may also be `{file: PATH}`: the stand-in prints that file of the host, which a setup
line of the scenario writes, for loaded state only the host can know (a rule per setuid file of
this machine's filesystems). Without the key the host has none of these programs, like a host
without the package: the command prints nothing and a rule that needs its output fails.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from lab.harness import HostSpec, TestHost, TestUser
from tests.yaml_files import read_yaml
from workers.transports.ssh import SSHTarget, SudoMode

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
AUDITOR = TestUser("auditor", sudo="nopasswd", shell="/bin/sh")
# One password per test process: it only ever reaches this process's own test hosts.
AUDITORS = {
    "nopasswd": AUDITOR,
    "password": TestUser(
        "auditor", password=secrets.token_urlsafe(18), sudo="password", shell="/bin/sh"
    ),
}
SPEC_KEYS = {
    "files", "remove", "modes", "owners", "sysctls", "processes", "overrides", "setup", "commands",
    "auditor",
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
    data = read_yaml(path) if path.exists() else {}
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
    auditor = auditor_sudo(spec.pop("auditor", None))
    return HostSpec(name=name, modes=modes, owners=owners, users=[AUDITORS[auditor]], **spec)


def auditor_sudo(setting: dict[str, Any] | None) -> str:
    """The auditor's sudo mode that a scenario's `auditor` key asks for."""
    sudo = (setting or {}).get("sudo", "nopasswd")
    if set(setting or {}) - {"sudo"} or sudo not in AUDITORS:
        raise ValueError(f"auditor takes {{sudo: nopasswd|password}}: {setting!r}")
    return str(sudo)


def auditor_target(host: TestHost) -> SSHTarget:
    """How an audit logs in to a scenario host: as auditor, with sudo as the host grants it."""
    (user,) = [user for user in host.spec.users if user.name == "auditor"]
    if user.sudo == "password":
        return host.ssh_target(user="auditor", sudo=SudoMode.PASSWORD, sudo_password=user.password)
    return host.ssh_target(user="auditor", sudo=SudoMode.NOPASSWD)


def stand_ins_setup(programs: dict[str, dict[str, Any]]) -> str:
    """A setup line giving the host the stand-in programs of `commands` (see above)."""
    lines = [f"mount -t tmpfs -o mode=0755,size=1m tmpfs {STAND_INS}"]
    for program, outputs in programs.items():
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", program):
            raise ValueError(f"stand-in program names are plain command names: {program!r}")
        cases = "".join(
            f"  {shlex.quote(arguments)}) {_printing(output)} ;;\n"
            for arguments, output in outputs.items()
        )
        script = (
            "#!/bin/sh\n# Test host stand-in: what this scenario says the kernel has loaded.\n"
            f'case "$*" in\n{cases}'
            f'  *) echo "{program} stand-in: $* is not served" >&2; exit 1 ;;\nesac\n'
        )
        path = f"{STAND_INS}/{program}"
        lines.append(f"printf '%s' {shlex.quote(script)} > {path} && chmod 0755 {path}")
    return " && ".join(lines)


def _printing(output: str | dict[str, str]) -> str:
    """The shell command printing one stand-in output: its text, or `{file: PATH}`'s file."""
    if isinstance(output, str):
        return f"printf '%s' {shlex.quote(output)}"
    path = output.get("file") if isinstance(output, dict) and set(output) == {"file"} else None
    if not isinstance(path, str) or not PurePosixPath(path).is_absolute():
        raise ValueError(f"a stand-in output is a text or {{file: ABSOLUTE PATH}}: {output!r}")
    return f"cat {shlex.quote(path)}"
