"""The remediation proof on SSH test hosts, for every check of our policies with a fix: on a
host where they all fail, the generated shell script's dry run changes nothing, applying it
makes the re-audit pass, and applying it again changes nothing. The Ansible playbook is proven
the same way with Debian's ansible-playbook against a fresh failing host.

A test fails when a Linux policy has a check with a fix that no scenario here covers (the
Windows policies' registry fixes are proven in test_windows_fixes_proof.py)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab import apt_repo
from lab.commands import run_command
from lab.harness import HostSpec, TestHost, TestHosts
from tests.rulesets.hardened import merge_scenarios
from tests.rulesets.scenarios import host_spec
from workers.audit import AuditOutcome, run
from workers.cli.output import outcome_as_dict
from workers.engine.definitions import PolicyDefinition
from workers.engine.policy import load_policy
from workers.remediation import playbook, shell
from workers.remediation.plan import failed_ids, make_plan
from workers.transports.base import Unreachable
from workers.transports.ssh import SSHTransport

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)

ROOT = Path(__file__).resolve().parents[3]
ANSIBLE = "/usr/bin/ansible-playbook"

# Every setting a fix changes, set the failing way: in the main file (after its Include) and in
# a drop-in that sshd reads before it, so the fix must find and neutralise both. Public key
# authentication is off for everyone but root, who runs the proof with a key (a Match block,
# which the fix must neutralise as well).
WEAK_MAIN = """\
Include /etc/ssh/sshd_config.d/*.conf
PermitRootLogin prohibit-password
PubkeyAuthentication no
UsePAM no
UseDNS no
Subsystem sftp /usr/lib/openssh/sftp-server
HostbasedAuthentication yes
IgnoreRhosts no
LoginGraceTime 300
LogLevel QUIET
MaxSessions 100
MaxStartups 200
PermitEmptyPasswords yes
PermitUserEnvironment yes
X11Forwarding yes
AllowTcpForwarding yes
AllowAgentForwarding yes
AllowStreamLocalForwarding yes
PermitTunnel yes
GatewayPorts yes
IgnoreUserKnownHosts no
X11UseLocalhost no
PrintLastLog no
ClientAliveInterval 0
Match User root
  PubkeyAuthentication yes
"""
WEAK_DROP_IN = "MaxAuthTries 10\nDisableForwarding no\nClientAliveCountMax 10\n"


def weak_sshd(name: str) -> HostSpec:
    return HostSpec(
        name=name,
        files={
            "/etc/ssh/sshd_config": WEAK_MAIN,
            "/etc/ssh/sshd_config.d/50-weak.conf": WEAK_DROP_IN,
        },
        modes={
            "/etc/ssh/sshd_config": 0o644,
            "/etc/ssh/sshd_config.d/50-weak.conf": 0o644,
            # Not the key sshd serves (it would refuse to start): the machine's other keys.
            "/etc/ssh/ssh_host_ecdsa_key": 0o640,
            "/etc/ssh/ssh_host_ecdsa_key.pub": 0o666,
        },
    )


# bulwark_openssh_cis leaves Debian and Ubuntu to their own policies: its test host says it is
# Rocky Linux 9, a distribution without a Bulwark policy of its own.
ROCKY_OS_RELEASE = """\
NAME="Rocky Linux"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
"""


def weak_sshd_elsewhere(name: str) -> HostSpec:
    spec = weak_sshd(name)
    return dataclasses.replace(spec, files={**spec.files, "/etc/os-release": ROCKY_OS_RELEASE})


def shared_with_machine(setup_line: str) -> bool:
    """False for a fail scenario that fakes a loaded kernel module (a tmpfs over /sys/module):
    test hosts share this machine's kernel, so unloading a module is the one part of the
    modprobe fixes no test host can prove; the proof fails them by their modprobe.d files."""
    return "/sys/module" not in setup_line


# Where merging the fail scenarios lets a check pass (one scenario's lines united with
# another's), the failing state of these files is set here.
WEAK_LOGIN_DEFS = """\
PASS_MAX_DAYS 99999
PASS_MIN_DAYS 0
PASS_WARN_AGE 3
ENCRYPT_METHOD MD5
"""
# The audit log directory of WEAK_AUDITD_CONF, its mode, and a log file's mode, owner and group
# all failing at once (the scenarios each make one of them fail, in lines that would collide).
AUDIT_LOGS = (
    "mkdir -m 0755 /run/audit-logs"
    " && printf 'type=DAEMON_START msg=audit(1700000000.000:1): op=start\\n'"
    " > /run/audit-logs/audit.log"
    " && chmod 0644 /run/audit-logs/audit.log && chown 1000:1000 /run/audit-logs/audit.log"
)
AUDIT_TOOLS = ("auditctl", "aureport", "ausearch", "autrace", "auditd", "augenrules")
OLDUSER_PASSWD = (
    "grep -q '^olduser:' /etc/passwd || "
    "echo 'olduser:x:1999:65534::/nonexistent:/usr/sbin/nologin' >> /etc/passwd"
)
WEAK_FAILLOCK = "# deny = 3\ndeny = 10\nunlock_time = 60\n"
# The pwquality fail scenarios each weaken one key of the same file: united, the good line of
# one would pass another's check (enforce_for_root, maxsequence). Ubuntu 22.04's scenarios write
# pwquality.conf itself (with minlen = 8 of 5.3.3.2.2), the others a drop-in.
WEAK_PWQUALITY = "difok = 1\nmaxrepeat = 0\nmaxsequence = 0\nenforcing = 0\n"
PWQUALITY_FILE = {
    "bulwark_debian12": ("/etc/security/pwquality.conf.d/60-cis.conf", WEAK_PWQUALITY),
    "bulwark_ubuntu2204": ("/etc/security/pwquality.conf", "minlen = 8\n" + WEAK_PWQUALITY),
    "bulwark_ubuntu2404": ("/etc/security/pwquality.conf.d/60-cis.conf", WEAK_PWQUALITY),
}
# auditd.conf: the scenarios' lines united would keep keep_logs (6.2.2.2 passing); the file also
# fails the configuration files' mode, owner and group (6.2.4.5-7), and names the log directory
# that AUDIT_LOGS fails (6.2.4.1-4).
WEAK_AUDITD_CONF = """\
log_file = /run/audit-logs/audit.log
log_group = adm
max_log_file = 8
max_log_file_action = ROTATE
"""
FAILING: dict[str, dict[str, dict[str, str]]] = {
    policy: {
        "files": {
            "/etc/login.defs": WEAK_LOGIN_DEFS,
            "/etc/security/faillock.conf": WEAK_FAILLOCK,
            PWQUALITY_FILE[policy][0]: PWQUALITY_FILE[policy][1],
            "/etc/audit/auditd.conf": WEAK_AUDITD_CONF,
        },
        "modes": {"/etc/audit/auditd.conf": "0644"},
        "owners": {"/etc/audit/auditd.conf": "daemon:adm"},
    }
    for policy in ("bulwark_debian12", "bulwark_ubuntu2204", "bulwark_ubuntu2404")
}


# The package and service fixes run dpkg and systemctl: a failing host sees /var and /usr as
# overlays of this machine's (lab/harness.py), so what they write lands in the host's own upper
# directories. The machine's files are compared before and after each proof (machine_state).
OVERLAYS = ("/var", "/usr")
# dpkg replaces its status file by renaming a new one over it and keeps the old one as a hard
# link, which a bind-mounted status file refuses: the scenarios' fake packages (bound over it,
# once or more) end up written into the host's /var overlay instead.
DPKG_SETTLE = (
    "cp /var/lib/dpkg/status /run/dpkg-settled"
    " && while mountpoint -q /var/lib/dpkg/status; do umount /var/lib/dpkg/status; done"
    " && cat /run/dpkg-settled > /var/lib/dpkg/status"
)
SCENARIO_UNIT = re.compile(r"^/etc/systemd/system/([A-Za-z0-9@_.:-]+\.(?:service|socket))$")
UNIT_LINK = re.compile(r"(ln -sf? )/etc/systemd/system/([A-Za-z0-9@_.:-]+\.(?:service|socket)) ")


def packaged_units(spec: dict[str, Any]) -> None:
    """Move the scenarios' unit files from /etc/systemd/system to /usr/lib/systemd/system (in the
    /usr overlay), where packages install them: there `systemctl mask` can mask them, as on a
    real host; a unit written into /etc itself can only be disabled."""
    files = spec.get("files", {})
    moved = {}
    for path in list(files):
        match = SCENARIO_UNIT.match(path)
        if match:
            moved[match.group(1)] = files.pop(path)
    writes = [
        f"printf '%s' {shlex.quote(body)} > /usr/lib/systemd/system/{unit}"
        for unit, body in moved.items()
    ]
    links = [
        UNIT_LINK.sub(
            lambda m: (
                f"{m.group(1)}/usr/lib/systemd/system/{m.group(2)} "
                if m.group(2) in moved
                else m.group(0)
            ),
            line,
        )
        for line in spec.get("setup", [])
    ]
    spec["setup"] = [*writes, *links]


# The mount option fixes: each mount point the policy fixes is mounted without nodev, nosuid and
# noexec (tmpfs; /var is the host's own /var overlay, which the harness mounts without them) and
# has an /etc/fstab line without them. The fail scenarios stack one mount per check on the same
# mount point, which a remount (of the top one) could not fix: they are left out.
MOUNTED = {
    "/tmp": "mount -t tmpfs -o mode=1777 tmpfs /tmp",
    "/dev/shm": (
        "while umount -l /dev/shm 2>/dev/null; do :; done"
        " && mount -t tmpfs -o mode=1777 tmpfs /dev/shm"
    ),
    "/home": "mount -t tmpfs -o mode=0755 tmpfs /home",
    "/var": "",
    "/var/tmp": "mount -t tmpfs -o mode=1777 tmpfs /var/tmp",
    # With the logs dpkg and apt keep on every Debian host that ever installed a package, with
    # the modes they create them with (6.1.4.1 reports them; the package fixes add to them).
    "/var/log": (
        "mount -t tmpfs -o mode=0755 tmpfs /var/log && mkdir -m 0755 /var/log/apt"
        " && install -m 0644 /dev/null /var/log/dpkg.log"
        " && install -m 0644 /dev/null /var/log/alternatives.log"
        " && install -m 0644 /dev/null /var/log/apt/history.log"
        " && install -m 0640 -g adm /dev/null /var/log/apt/term.log"
    ),
    "/var/log/audit": (
        "mkdir -p -m 0700 /var/log/audit && mount -t tmpfs -o mode=0700 tmpfs /var/log/audit"
    ),
}


def mount_points(policy: PolicyDefinition) -> list[str]:
    """The mount points the policy's fixes set options on, parents first."""
    return sorted({p for c in policy.checks if c.fix for p, _ in c.fix.mount_options})


def mount_scenario(line: str) -> bool:
    """A fail scenario's line that mounts one of MOUNTED's mount points."""
    return line.startswith("while umount -l /dev/shm") or (
        line.startswith("mount ") and line.split()[-1] in MOUNTED
    )


# A fail scenario of a package fix marks an installed package as removed in a copy of the dpkg
# status bound over it; two such copies would hide each other, so the proof edits it once for
# all of them.
DEINSTALL = re.compile(
    r"^sed '/\^Package: (?P<name>[a-z0-9][a-z0-9+.-]+)\$/,/\^\$/ s/\^Status: \.\*/"
    r"Status: deinstall ok config-files/' /var/lib/dpkg/status > /run/dpkg-status"
    r" && mount --bind /run/dpkg-status /var/lib/dpkg/status$"
)


def deinstalled(names: list[str]) -> list[str]:
    """One setup line marking all these packages removed (their configuration files kept)."""
    if not names:
        return []
    edits = " ".join(
        f"-e '/^Package: {n}$/,/^$/ s/^Status: .*/Status: deinstall ok config-files/'"
        for n in names
    )
    # Written through whatever is mounted there (Ubuntu 24.04's base binds its own copy).
    return [
        f"sed {edits} /var/lib/dpkg/status > /run/dpkg-deinstalled"
        " && cat /run/dpkg-deinstalled > /var/lib/dpkg/status"
    ]


# The scenarios' fake packages are version 1.0(-1). Real packages of this machine declare they
# break or conflict with some at that version (hostname breaks nis < 3.17-30, libldap conflicts
# with old ldap-utils), and apt refuses to install anything while such a pair is installed; and
# a package fix that completes a pair (audispd-plugins beside a fake auditd) wants the real
# version of the other. So, as on a real host: a fake of a package the local repository holds
# gets the repository's version, any other a version no installed package names.
FAKE_STANZA = re.compile(
    r"(?P<head>\\nPackage: (?P<name>[a-z0-9][a-z0-9+.-]+)\\n(?:(?!\\n\\n).)*?\\nVersion: )"
    r"1\.0(?:-1)?(?=\\n)"
)


def repository_versions(repository: Path) -> dict[str, str]:
    index = (repository / "Packages").read_text() if repository.is_dir() else ""
    found = re.findall(r"^Package: (\S+)\n(?:.+\n)*?Version: (\S+)$", index, re.MULTILINE)
    return dict(found)


def unbroken(lines: list[str], versions: dict[str, str]) -> list[str]:
    def version(match: re.Match[str]) -> str:
        return match["head"] + versions.get(match["name"], "99:1.0")

    return [FAKE_STANZA.sub(version, line) for line in lines]


# A fake that must stay installed as it is. The audit tools' failing modes, owners and groups
# (6.2.4.8-10; 6.3.4.8-10 on Ubuntu 22.04) are set on the files of a fake auditd, and the
# audispd-plugins install (6.2.1.1) runs first: had apt replaced the fake with the real auditd,
# its unpacking would have reset those files before their steps ran. apt keeps an installed
# package when its status entry is the repository's version itself (the same architecture and
# dependency fields, which apt compares) and its dependencies are installed; so this fake gets
# the repository's own fields, and the dependencies only the repository holds (libauparse0) are
# faked beside it. As on a real host: installing audispd-plugins leaves auditd's files alone.
KEPT_INSTALLED = ("auditd",)
NOT_COPIED = {"Package", "Source", "Maintainer", "Filename", "Size", "MD5sum", "SHA1", "SHA256"}
NOT_COPIED |= {"SHA512", "Homepage", "Description", "Description-md5", "Tag"}


def repository_stanzas(repository: Path) -> dict[str, list[str]]:
    """Each package of the local repository: its one-line control fields."""
    index = (repository / "Packages").read_text() if repository.is_dir() else ""
    stanzas = {}
    for block in index.split("\n\n"):
        fields = [line for line in block.splitlines() if line and not line[0].isspace()]
        names = [line.split(": ", 1)[1] for line in fields if line.startswith("Package: ")]
        if names:
            stanzas[names[0]] = [f for f in fields if f.split(":", 1)[0] not in NOT_COPIED]
    return stanzas


def kept_installed(lines: list[str], stanzas: dict[str, list[str]]) -> list[str]:
    def fake(name: str) -> str:
        fields = stanzas[name]
        assert not any(c in f for f in fields for c in "%'\\"), fields  # printf, quoted
        body = [f"Package: {name}", "Status: install ok installed", *fields]
        body += ["Maintainer: Bulwark Tests <tests@example.invalid>"]
        body += ["Description: fake package for a scenario"]
        return "\\n" + "\\n".join(body) + "\\n\\n"

    def needed(name: str, found: list[str]) -> list[str]:
        """The package and, depth first, its dependencies only the repository holds."""
        found.append(name)
        for field in stanzas[name]:
            if field.startswith(("Depends:", "Pre-Depends:")):
                for alternative in field.split(": ", 1)[1].split(","):
                    other = alternative.split("|")[0].split()[0]
                    if other in stanzas and other not in found:
                        needed(other, found)
        return found

    result = []
    for line in lines:
        for name in KEPT_INSTALLED:
            stanza = re.compile(r"\\nPackage: " + re.escape(name) + r"\\n(?:(?!\\n\\n).)*?\\n\\n")
            if name in stanzas and stanza.search(line):
                text = "".join(fake(n) for n in needed(name, []))
                line = stanza.sub(lambda _, text=text: text, line)  # type: ignore[misc]
        result.append(line)
    return result


def fstab(points: list[str]) -> str:
    return "".join(
        f"{'overlay' if p == '/var' else 'tmpfs'} {p} {'overlay' if p == '/var' else 'tmpfs'}"
        " defaults 0 0\n"
        for p in points
    )


# Daemons installed by the package fixes must not start (their postinst asks invoke-rc.d, which
# asks policy-rc.d; exit 101 is "not allowed"): the host writes it into its /usr overlay.
NO_DAEMONS = (
    "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d"
)
# Proof time: no manual page index rebuilt after each install (man-db's trigger skips it
# without this file, as on Debian's container images).
NO_MANDB = "rm -f /var/lib/man-db/auto-update"
# apt in the host sees only the local repository (apt_repository): no other source.
APT_SOURCES = "rm -f /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources"


def installed_by_fixes() -> list[str]:
    """Every package a Linux policy's fix installs: the local repository holds them all."""
    names = set()
    for path in sorted((ROOT / "rulesets" / "linux").glob("*.yml")):
        policy = load(path.stem)
        names |= {n for c in policy.checks if c.fix for n in c.fix.install_packages}
    return sorted(names)


def failing_distro(policy: str) -> Callable[[str, Path], HostSpec]:
    """A host where every check of the policy with a fix fails at once: the `fail` scenarios of
    those checks (tests/rulesets/scenarios/) merged into one host. `repository` is the local
    package repository its apt uses."""

    def make(name: str, repository: Path) -> HostSpec:
        path = ROOT / f"rulesets/linux/{policy}.yml"
        removed: list[str] = []

        def keep(line: str) -> bool:
            match = DEINSTALL.match(line)
            if match:
                removed.append(match["name"])
            audit_logs = line.startswith("mkdir -m 07") and "/run/audit-logs" in line
            return (
                not match
                and shared_with_machine(line)
                and not mount_scenario(line)
                and not audit_logs
            )

        merged = merge_scenarios(path, sorted(fixable(load(policy))), "fail", keep)
        spec = merged.spec
        for key, changes in FAILING.get(policy, {}).items():
            spec[key] = {**spec.get(key, {}), **changes}
        points = mount_points(load(policy))
        spec["files"] = {
            **spec.get("files", {}),
            "/etc/fstab": fstab(points),
            "/etc/apt/sources.list": apt_repo.sources_line(repository),
        }
        mounts = [MOUNTED[p] for p in points if MOUNTED[p]]
        # The scenarios add an account to /etc/shadow only; chage (like every real tool) wants
        # it in /etc/passwd too.
        spec["setup"] = [
            *mounts,
            *deinstalled(sorted(set(removed))),
            *spec.get("setup", []),
            OLDUSER_PASSWD,
            AUDIT_LOGS,
            DPKG_SETTLE,
            NO_DAEMONS,
            NO_MANDB,
            APT_SOURCES,
        ]
        packaged_units(spec)
        spec["setup"] = kept_installed(spec["setup"], repository_stanzas(repository))
        spec["setup"] = unbroken(spec["setup"], repository_versions(repository))
        for path in spec.get("files", {}):
            if path.startswith("/etc/modprobe.d/60-bulwark-"):
                spec["files"][path] = "# turned off by the failing scenario\n"
        return dataclasses.replace(host_spec(name, merged.base, spec), overlays=OVERLAYS)

    return make


# policy -> the host spec maker of its failing host (name, local package repository)
SCENARIOS: dict[str, Callable[[str, Path], HostSpec]] = {
    "bulwark_openssh": lambda name, _: weak_sshd(name),
    "bulwark_openssh_cis": lambda name, _: weak_sshd_elsewhere(name),
    **{
        p: failing_distro(p)
        for p in ("bulwark_debian12", "bulwark_ubuntu2204", "bulwark_ubuntu2404")
    },
}


def load(name: str) -> PolicyDefinition:
    loaded = load_policy(ROOT / f"rulesets/linux/{name}.yml")
    assert loaded.policy is not None, loaded.errors
    return loaded.policy


def test_every_policy_with_fixes_has_a_scenario() -> None:
    with_fixes = set()
    for path in sorted((ROOT / "rulesets" / "linux").glob("*.yml")):
        policy = load_policy(path).policy
        assert policy is not None
        if fixable(policy):
            with_fixes.add(policy.id)
    assert with_fixes == set(SCENARIOS)


KERNEL_WRITE = re.compile(r"\bsysctl\b[^\n|;&]*\s(-w|--write|-p|--load|--system)\b|>\s*/proc/sys/")


def test_kernel_parameters_are_set_only_through_the_shorthand() -> None:
    """The safety guard of the kernel.* and fs.* fixes sees the parameters of the `sysctl`
    shorthand only: no other part of a Linux fix may set one (sysctl -w/-p/--system, or a
    write into /proc/sys)."""
    found = []
    for path in sorted((ROOT / "rulesets" / "linux").glob("*.yml")):
        for check in load(path.stem).checks:
            fix = check.fix
            if fix and KERNEL_WRITE.search("\n".join([fix.test, fix.sh, json.dumps(fix.ansible)])):
                found.append(f"{path.stem} {check.id}")
    assert found == []


def machine_wide(policy: PolicyDefinition) -> set[str]:
    """The checks that scan every filesystem (world-writable, unowned and setuid files): on a
    test host that is this machine's, not the host's."""
    return {c.id for c in policy.checks if any("-xdev" in rule.raw for rule in c.rules)}


def regressions(policy: PolicyDefinition, before: AuditOutcome, after: dict[str, str]) -> list[str]:
    """Checks that passed before the fix and fail after it."""
    return sorted(c for c, s in statuses(before).items() if s == "passed" and after[c] != "passed")


def fixable(policy: PolicyDefinition) -> set[str]:
    return {c.id for c in policy.checks if c.fix is not None and c.fix.automatic}


def connect(host: TestHost) -> SSHTransport:
    """A connected transport. A fix that changed sshd reloads it (SIGHUP: sshd re-executes
    itself), so the port may be closed for a moment: wait until it listens again."""
    for _ in range(100):
        transport = SSHTransport(host.ssh_target())
        try:
            transport.connect()
        except Unreachable:
            time.sleep(0.1)
            continue
        return transport
    raise AssertionError(f"{host.name} never listened again")


def audit(host: TestHost, policy: PolicyDefinition) -> AuditOutcome:
    """The policy's audit, without the scans of this machine's whole filesystem (test hosts
    share it, other tests change it meanwhile, and they cost most of an audit's time)."""
    kept = tuple(c for c in policy.checks if c.id not in machine_wide(policy))
    with connect(host) as transport:
        return run(transport, [dataclasses.replace(policy, checks=kept)])


def statuses(outcome: AuditOutcome) -> dict[str, str]:
    return {r.check.id: r.status.value for r in outcome.results}


def snapshot(host: TestHost, policy: PolicyDefinition) -> str:
    """Everything a fix may change: the host's /etc (and /var, /usr where overlaid) is an
    overlay, so every file a fix creates, changes or re-owns is in its upper directory (content,
    mode, owner); the running value of each kernel parameter a fix sets (per network namespace,
    so per host); and which of the processes a fix ends or starts are running (per PID
    namespace)."""
    lines = tree(host.dir / "upper")
    for overlaid in host.spec.overlays:
        # Not /var/log: every SSH login writes wtmp and lastlog there.
        lines += tree(host.overlay_upper(overlaid), skip=("log",))
    keys = sorted({k for c in policy.checks if c.fix for k, _ in c.fix.sysctl})
    if keys:
        done = host.run_local(f"sysctl {' '.join(keys)} 2>&1")
        lines.append(done.stdout)
    names = sorted(
        {n for c in policy.checks if c.fix for n in c.fix.end_processes}
        | {p for c in policy.checks if c.fix for _, p in c.fix.enable_units if p}
    )
    if names:
        running = host.run_local("ps -e -o comm=").stdout.split()
        lines.append(" ".join(n for n in sorted(running) if n in names))
    # The audit log directory auditd.conf names (outside the overlays: /run in the proof), and
    # the audit tools (the scenario's own overlay of /usr/sbin, its upper directory in /run).
    tools = " ".join(f"/sbin/{t}" for t in AUDIT_TOOLS)
    logs = host.run_local(
        f"stat -Lc '%n %a %u %g' {tools} 2>&1; "
        "f=$(sed -n 's/^[[:space:]]*log_file[[:space:]]*=[[:space:]]*//p'"
        " /etc/audit/auditd.conf 2>/dev/null | tail -n 1)"
        ' && d=$(dirname "${f:-/var/log/audit/audit.log}")'
        ' && stat -Lc \'%n %a %u %g\' "$d" "$d"/* 2>&1'
    )
    lines.append(logs.stdout)
    points = mount_points(policy)
    if points:
        mounted = host.run_local("cat /proc/self/mounts").stdout.splitlines()
        lines += [line for line in mounted if line.split()[1] in points]
    return "\n".join(lines)


def tree(top: Path, skip: tuple[str, ...] = ()) -> list[str]:
    """Each entry under `top`: its path, mode, owner, and content hash or link target."""
    lines = []
    for path in sorted(top.rglob("*")):
        relative = path.relative_to(top)
        if relative.parts[0] in skip:
            continue
        info = path.lstat()
        if path.is_symlink():
            body = os.readlink(path)
        elif path.is_file():
            body = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            body = ""
        lines.append(f"{relative} {info.st_mode:o} {info.st_uid} {info.st_gid} {body}")
    return lines


def machine_state() -> list[str]:
    """What the package, service and module fixes would change on THIS machine if a host's
    overlays failed them: dpkg's database and log, the unit files and their links, modprobe.d."""
    lines = []
    for name in ("/var/lib/dpkg/status", "/var/log/dpkg.log"):
        path = Path(name)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"
        lines.append(f"{name} {digest}")
    for top in ("/etc/systemd/system", "/usr/lib/systemd/system", "/etc/modprobe.d"):
        lines += [f"{top}/{line}" for line in tree(Path(top))]
    return lines


def kernel_wide(policy: PolicyDefinition) -> list[str]:
    """The kernel parameters outside net.* that the policy's fixes set (kernel.*, fs.*, vm.*):
    not per network namespace, so on a test host they are this machine's own, unless the
    failing host has a file of its own bound over them."""
    keys = {k for c in policy.checks if c.fix for k, _ in c.fix.sysctl}
    return sorted(k for k in keys if not k.startswith("net."))


def machine_kernel(keys: list[str]) -> dict[str, str]:
    """This machine's own values of those parameters (read here, outside every test host)."""
    values = {}
    for key in keys:
        path = Path("/proc/sys", *key.split("."))
        values[key] = path.read_text() if path.exists() else "absent"
    return values


def only_bound_kernel_parameters(host: TestHost, policy: PolicyDefinition) -> dict[str, str]:
    """THE SAFETY GUARD of the kernel.* and fs.* fixes, before anything is applied: in the
    failing host, each such parameter must be a file bound over /proc/sys (the file itself or
    a directory above it, a mount point below /proc/sys of another filesystem than proc), so
    that `sysctl -w` writes that file and not this machine's kernel. Otherwise the test stops
    here, loudly. Returns this machine's own values, which must be the same after the proof."""
    keys = kernel_wide(policy)
    machine = machine_kernel(keys)
    for key in keys:
        path = "/proc/sys/" + key.replace(".", "/")
        # The mount that holds the path, and the type of the filesystem the file itself is on
        # (statfs of what the host opens: "proc" for the kernel's own file).
        done = host.run_local(
            f"test -e {path} && findmnt -n -o TARGET,FSTYPE -T {path} && stat -f -c %T {path}"
        )
        found = done.stdout.split()
        contained = (
            done.returncode == 0
            and len(found) == 3
            and found[1] not in ("proc", "sysfs")
            and found[2] not in ("proc", "sysfs")
            and found[0].startswith("/proc/sys/")
            and (path == found[0] or path.startswith(found[0] + "/"))
        )
        if not contained:
            pytest.fail(
                f"UNSAFE: {key} is not a file bound over /proc/sys in {host.name} "
                f"(findmnt: {done.stdout.strip() or done.stderr.strip() or 'nothing'}): its fix "
                "would change this machine's kernel. Bind a file over it in the fail scenario."
            )
    return machine


def apply(host: TestHost, script: str, *args: str) -> tuple[int, str]:
    with connect(host) as transport:
        result = run_command(
            transport, f"sh -s -- {' '.join(args)}", stdin=script.encode(), timeout=300
        )
    assert result.exit_status is not None, "the script did not finish"
    return result.exit_status, (result.stdout + result.stderr).decode()


@functools.cache
def _repository() -> Path:
    return apt_repo.build(installed_by_fixes(), ROOT / "var" / "apt-repo")


@pytest.fixture
def apt_repository() -> Path:
    """The local package repository of the package fixes (lab/apt_repo.py), built once from
    this machine's apt sources into the worktree's ignored var/ (and kept there; a second
    process waits for the first's build and reuses it). Not a session fixture: that would
    make this module one xdist group (tests/parallel.py) and run its ten proofs, the slowest
    tests of the suite, one after another on one worker. Without the package archive there is
    no proof: under CI that fails, elsewhere it skips."""
    try:
        return _repository()
    except apt_repo.RepositoryUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot build the local package repository: {exc}")
        pytest.skip(f"cannot build the local package repository: {exc}")


@pytest.fixture
def failing(
    test_hosts: TestHosts, apt_repository: Path
) -> Iterator[Callable[[str, str], TestHost]]:
    """Starts the failing host of one policy for one proof ("sh" or "ansible"): each proof
    changes its host, so none is shared, and a test starts only its own (under xdist the ten
    proofs run on several workers)."""
    started: list[TestHost] = []

    def start(name: str, kind: str) -> TestHost:
        number = sorted(SCENARIOS).index(name)
        spec = SCENARIOS[name](f"fix{number}-{kind}", apt_repository)
        started.append(test_hosts.start(spec, timeout=30))
        return started[-1]

    yield start
    for host in started:
        host.stop()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_fix_is_proven_by_the_shell_script(
    failing: Callable[[str, str], TestHost], name: str, tmp_path: Path
) -> None:
    policy = load(name)
    host = failing(name, "sh")
    kernel = only_bound_kernel_parameters(host, policy)
    before = audit(host, policy)
    wanted = fixable(policy)
    assert wanted, f"no check of {name} has a fix"
    # The scenario: every check with a fix fails here.
    assert sorted(c for c, s in statuses(before).items() if c in wanted and s != "failed") == []
    results = tmp_path / "results.json"
    results.write_text(json.dumps(outcome_as_dict(before)))
    host_name, failed = failed_ids(json.loads(results.read_text()), None)
    plan = make_plan(host_name, failed, [policy])
    assert {s.check.id for s in plan.steps} == wanted
    script = shell.render(plan)

    machine = machine_state()
    untouched = snapshot(host, policy)
    code, output = apply(host, script, "--check")
    assert code == 0, output
    assert output.count("would    ") == len(wanted) and "fixed" not in output
    assert snapshot(host, policy) == untouched  # the dry run changed nothing

    code, output = apply(host, script)
    assert code == 0, output
    assert output.count("fixed    ") == len(wanted) and "FAILED" not in output
    after = statuses(audit(host, policy))
    assert {c: after[c] for c in wanted} == dict.fromkeys(wanted, "passed")
    # Nothing that passed before fails now.
    assert regressions(policy, before, after) == []

    fixed = snapshot(host, policy)
    code, output = apply(host, script)
    assert code == 0, output
    assert output.count("ok       ") == len(wanted), output
    assert "0 step(s) changed the host" in output, output
    assert snapshot(host, policy) == fixed  # a second run changes nothing
    assert machine_state() == machine  # only the host's overlays changed
    assert machine_kernel(kernel_wide(policy)) == kernel  # nor this machine's kernel


def test_the_cli_writes_the_script(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps(
            {
                "host": {"hostname": "h"},
                "results": [
                    {
                        "policy": "bulwark_openssh_cis",
                        "check_id": "bwk-sshd-0017",
                        "status": "failed",
                    },
                    {
                        "policy": "bulwark_openssh_cis",
                        "check_id": "bwk-sshd-0021",
                        "status": "failed",
                    },
                    {
                        "policy": "bulwark_openssh_cis",
                        "check_id": "bwk-sshd-0015",
                        "status": "excepted",
                    },
                ],
            }
        )
    )
    done = subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            "-m",
            "workers",
            "remediate",
            "--from",
            str(results),
            "--format",
            "sh",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "bulwark_sshd_set MaxAuthTries 4" in done.stdout
    assert "bwk-sshd-0017 (CIS 5.1.7)" in done.stdout or "bwk-sshd-0017" in done.stdout
    assert "LogLevel" not in done.stdout  # excepted: no step
    assert "# bulwark_openssh_cis bwk-sshd-0021" in done.stdout and "locks out" in done.stdout
    assert "2 failed check(s), 1 with a fix, 1 without" in done.stderr


def _ansible(host: TestHost, book: Path, folder: Path) -> list[str]:
    """Run the playbook once against the host; the output of each play (default callback)."""
    known = folder / "known_hosts"
    known.write_text(f"[{host.address}]:{host.port} {host.host_key_line}\n")
    inventory = folder / "inventory.ini"
    inventory.write_text(
        f"{host.name} ansible_host={host.address} ansible_port={host.port} ansible_user=root "
        f"ansible_ssh_private_key_file={host.client_key_path} "
        "ansible_python_interpreter=/usr/bin/python3 "
        f"ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes'\n"
    )
    env = {
        **os.environ,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(folder / "tmp"),
        # One SSH command per task instead of three (put, run, remove): same modules, faster.
        "ANSIBLE_PIPELINING": "1",
    }
    done = subprocess.run(
        [ANSIBLE, "-i", str(inventory), str(book)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return re.split(r"^PLAY \[", done.stdout, flags=re.MULTILINE)[1:]


def changed_tasks(play: str) -> list[str]:
    """The tasks of one play's output that report a change ("changed: [host]" under them)."""
    tasks = re.split(r"^TASK \[", play, flags=re.MULTILINE)[1:]
    return [task.split("]", 1)[0] for task in tasks if re.search(r"^changed: \[", task, re.M)]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_ansible_playbook_is_proven_too(
    failing: Callable[[str, str], TestHost], name: str, tmp_path: Path
) -> None:
    """One ansible-playbook run per policy: the generated play, then the same play again. The
    first must change the host and make the re-audit pass; the second must report no change."""
    if not os.access(ANSIBLE, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail(f"needs {ANSIBLE} (Debian: ansible-core)")
        pytest.skip(f"needs {ANSIBLE} (Debian: ansible-core)")
    assert shutil.which("ssh"), "ansible needs the OpenSSH client"
    policy = load(name)
    host = failing(name, "ansible")
    kernel = only_bound_kernel_parameters(host, policy)
    before = audit(host, policy)
    with_tasks = {c.id for c in policy.checks if c.fix and c.fix.has_ansible}
    assert {c: statuses(before)[c] for c in with_tasks} == dict.fromkeys(with_tasks, "failed")
    failed = {(r.policy_id, r.check.id) for r in before.results if r.status.value == "failed"}
    generated = yaml.safe_load(playbook.render(make_plan(host.name, failed, [policy])))
    assert len(generated) == 1
    again = {**generated[0], "name": "again"}
    book = tmp_path / "fix.yml"
    book.write_text(yaml.safe_dump([generated[0], again], sort_keys=False))

    # ansible-playbook exits 0 only when no task failed and the host was reachable.
    machine = machine_state()
    first, second = _ansible(host, book, tmp_path)
    assert machine_state() == machine  # only the host's overlays changed
    assert machine_kernel(kernel_wide(policy)) == kernel  # nor this machine's kernel
    assert changed_tasks(first), "the first play changed nothing"
    assert changed_tasks(second) == []  # applied again: nothing changes
    after = statuses(audit(host, policy))
    assert {c: after[c] for c in with_tasks} == dict.fromkeys(with_tasks, "passed")
    assert regressions(policy, before, after) == []
