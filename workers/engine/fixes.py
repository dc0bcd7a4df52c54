"""Machine-runnable remediation of a check: the optional `fix:` key of our policies.

A Wazuh agent ignores the key; our loader validates it (docs/policy-format-extensions.md):

    fix:
      test: "sh command that exits 0 when the host is compliant"
      sh: "sh snippet that makes it so (run as root, only when test fails)"
      powershell_test / powershell: the same for Windows
      ansible: [tasks]            # idempotent Ansible tasks
      sshd: {Keyword: value}      # shorthand: sshd settings, expanded to test, sh and ansible
      sysctl: {net.x.y: 0}        # shorthand: kernel parameters, set now and persisted
      disable_units: [x.service]  # shorthand: systemd units stopped, disabled and masked
      end_processes: [name]       # shorthand: no process of that name left running
      enable_units: {cron.service: cron}  # shorthand: service units unmasked, enabled and
                                  # started unless the process named runs
      purge_packages: [pkg]       # shorthand: Debian packages purged (dpkg refuses if needed)
      install_packages: [pkg]     # shorthand: Debian packages installed with apt-get
      mount_options: {/tmp: [nodev]}  # shorthand: options added to the fstab line, remounted
      audit_policy: {Logon: success_and_failure}     # shorthand: auditpol, by GUID (Windows)
      security_policy: {System Access: {Key: 1}}     # shorthand: secedit (Windows)
      manual: "why no automatic fix is offered (a decision is needed)"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import Node

from workers.engine import windows_fixes

KEYS = (
    "test",
    "sh",
    "powershell_test",
    "powershell",
    "ansible",
    "sshd",
    "sysctl",
    "disable_units",
    "end_processes",
    "enable_units",
    "purge_packages",
    "install_packages",
    "mount_options",
    "audit_policy",
    "security_policy",
    "manual",
)
_SSHD_KEYWORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# Values go into a shell command and a config file unquoted: keep them to a safe alphabet.
_SSHD_VALUE = re.compile(r"^[A-Za-z0-9_.:/,@+=-]+$")
_SYSCTL_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$")
_SYSCTL_VALUE = re.compile(r"^-?[0-9]+$")
# Names written unquoted into shell commands: systemd unit names, process names as `ps -o comm`
# shows them (at most 15 characters), Debian package names.
_NAMES = {
    "disable_units": re.compile(r"^[A-Za-z0-9][A-Za-z0-9@_.:-]*\.(service|socket|timer|path)$"),
    "end_processes": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,14}$"),
    "purge_packages": re.compile(r"^[a-z0-9][a-z0-9+.-]+$"),
    "install_packages": re.compile(r"^[a-z0-9][a-z0-9+.-]+$"),
}
# Mount points and options go into shell commands and /etc/fstab: plain absolute paths, and
# only the options that take rights away (adding one can break a program, never lock anyone out).
_MOUNT_POINT = re.compile(r"^/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+$")
MOUNT_OPTIONS = ("nodev", "nosuid", "noexec")


@dataclass(frozen=True)
class FixDefinition:
    """How to remediate one check; empty fields mean "not offered for that format"."""

    test: str = ""
    sh: str = ""
    powershell_test: str = ""
    powershell: str = ""
    ansible: tuple[Mapping[str, Any], ...] = ()
    sshd: tuple[tuple[str, str], ...] = ()
    sysctl: tuple[tuple[str, str], ...] = ()
    disable_units: tuple[str, ...] = ()
    end_processes: tuple[str, ...] = ()
    # (service unit, the name of its process as `ps -o comm` shows it)
    enable_units: tuple[tuple[str, str], ...] = ()
    purge_packages: tuple[str, ...] = ()
    install_packages: tuple[str, ...] = ()
    mount_options: tuple[tuple[str, tuple[str, ...]], ...] = ()
    manual: str = ""
    line: int = 0

    @property
    def automatic(self) -> bool:
        return bool(self.powershell or self.has_shell or self.has_ansible)

    @property
    def shorthands(self) -> bool:
        """A shorthand the generators expand to both a shell step and an Ansible task."""
        return bool(
            self.sshd
            or self.sysctl
            or self.disable_units
            or self.end_processes
            or self.enable_units
            or self.purge_packages
            or self.install_packages
            or self.mount_options
        )

    @property
    def has_shell(self) -> bool:
        return bool(self.sh or self.shorthands)

    @property
    def has_ansible(self) -> bool:
        return bool(self.ansible or self.shorthands)


Report = Callable[[Node, str], None]


def load_fix(node: Node | None, report: Report) -> FixDefinition | None:
    """The check's fix, or None when absent or invalid (each defect goes to `report`)."""
    if node is None:
        return None
    try:
        value = SafeConstructor().construct_document(node)
    except ConstructorError as exc:
        report(node, f"fix: {exc.problem}")
        return None
    if not isinstance(value, dict):
        report(node, f"fix must be a mapping of {', '.join(KEYS)}")
        return None
    problems = []
    unknown = sorted(str(k) for k in value if k not in KEYS)
    if unknown:
        problems.append(f"fix: unknown keys {', '.join(unknown)} (known: {', '.join(KEYS)})")
    for key in ("test", "sh", "powershell_test", "powershell", "manual"):
        if key in value and not (isinstance(value[key], str) and value[key].strip()):
            problems.append(f"fix.{key} must be a non-empty string")
    if bool(value.get("sh")) != bool(value.get("test")):
        problems.append("fix.sh and fix.test go together (the test decides whether sh runs)")
    if bool(value.get("powershell")) != bool(value.get("powershell_test")):
        problems.append("fix.powershell and fix.powershell_test go together")
    tasks = value.get("ansible", [])
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and t for t in tasks):
        problems.append("fix.ansible must be a list of Ansible tasks (mappings)")
        tasks = []
    sshd = value.get("sshd", {})
    if not isinstance(sshd, dict) or not sshd:
        if "sshd" in value:
            problems.append("fix.sshd must be a mapping of sshd_config keywords to values")
        sshd = {}
    # YAML 1.1 reads an unquoted yes/no as a boolean: sshd spells them yes/no.
    sshd = {k: ("yes" if v else "no") if isinstance(v, bool) else v for k, v in sshd.items()}
    for keyword, setting in sshd.items():
        if not _SSHD_KEYWORD.match(str(keyword)) or not _SSHD_VALUE.match(str(setting)):
            problems.append(f"fix.sshd: {keyword}: keyword or value has unsafe characters")
    sysctl = value.get("sysctl", {})
    if not isinstance(sysctl, dict) or not sysctl:
        if "sysctl" in value:
            problems.append("fix.sysctl must be a mapping of kernel parameters to integers")
        sysctl = {}
    for key, setting in sysctl.items():
        # A list: the values the check accepts, the first set when the live one is not among
        # them (kernel.yama.ptrace_scope: [1, 2, 3] keeps a stricter 2 or 3).
        accepted = setting if isinstance(setting, list) else [setting]
        if (
            not _SYSCTL_KEY.match(str(key))
            or not 1 <= len(accepted) <= 10
            or not all(_SYSCTL_VALUE.match(str(v)) for v in accepted)
            or len({str(v) for v in accepted}) != len(accepted)
        ):
            problems.append(
                f"fix.sysctl: {key}: expected a parameter name and an integer"
                " (or a list of up to ten integers)"
            )
    names: dict[str, tuple[str, ...]] = {}
    for key, pattern in _NAMES.items():
        listed = value.get(key, [])
        if not isinstance(listed, list) or (key in value and not listed):
            problems.append(f"fix.{key} must be a non-empty list of names")
            listed = []
        bad = [str(n) for n in listed if not (isinstance(n, str) and pattern.match(n))]
        if bad:
            problems.append(f"fix.{key}: not a safe name: {', '.join(bad)}")
        names[key] = tuple(str(n) for n in listed)
    mounts = _mount_options(value, problems)
    windows = windows_fixes.expand(value, problems)
    if windows is not None and (value.get("powershell") or len(value) > 1):
        problems.append(
            "fix.audit_policy and fix.security_policy stand alone (they make the PowerShell)"
        )
    enable = _enable_units(value, problems)
    if "manual" in value and len(value) > 1:
        problems.append("fix.manual says no automatic fix is offered: it stands alone")
    for problem in problems:
        report(node, problem)
    if problems:
        return None
    return FixDefinition(
        test=value.get("test", ""),
        sh=value.get("sh", ""),
        powershell_test=windows[0] if windows else value.get("powershell_test", ""),
        powershell=windows[1] if windows else value.get("powershell", ""),
        ansible=tuple(tasks),
        sshd=tuple((str(k), str(v)) for k, v in sshd.items()),
        sysctl=tuple(
            (str(k), "|".join(str(x) for x in v) if isinstance(v, list) else str(v))
            for k, v in sysctl.items()
        ),
        disable_units=names["disable_units"],
        end_processes=names["end_processes"],
        enable_units=enable,
        purge_packages=names["purge_packages"],
        install_packages=names["install_packages"],
        mount_options=mounts,
        manual=value.get("manual", ""),
        line=node.start_mark.line + 1,
    )


def _mount_options(
    value: Mapping[str, Any], problems: list[str]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """fix.mount_options: {mount point: [options]}, each checked (problems get the defects)."""
    if "mount_options" not in value:
        return ()
    mounts = value["mount_options"]
    if not isinstance(mounts, dict) or not mounts:
        problems.append("fix.mount_options must be a mapping of mount points to lists of options")
        return ()
    found = []
    for point, options in mounts.items():
        if not (isinstance(point, str) and _MOUNT_POINT.match(point)) or ".." in str(point):
            problems.append(f"fix.mount_options: not a plain absolute mount point: {point}")
            continue
        if (
            not isinstance(options, list)
            or not options
            or any(o not in MOUNT_OPTIONS for o in options)
        ):
            problems.append(
                f"fix.mount_options: {point}: a non-empty list of {', '.join(MOUNT_OPTIONS)}"
            )
            continue
        found.append((point, tuple(options)))
    return tuple(found)


def _enable_units(value: Mapping[str, Any], problems: list[str]) -> tuple[tuple[str, str], ...]:
    """fix.enable_units: {service unit: process name}, both written into shell commands. A
    unit without a process of its own (a timer, a socket) has nothing to tell that it runs, and
    without systemd nothing to start it: not offered."""
    if "enable_units" not in value:
        return ()
    units = value["enable_units"]
    if not isinstance(units, dict) or not units:
        problems.append(
            "fix.enable_units must be a mapping of service units to the process each runs"
        )
        return ()
    found = []
    for unit, process in units.items():
        if not (
            isinstance(unit, str)
            and unit.endswith(".service")
            and _NAMES["disable_units"].match(unit)
        ):
            problems.append(f"fix.enable_units: not a safe service unit name: {unit}")
        elif not (isinstance(process, str) and _NAMES["end_processes"].match(process)):
            problems.append(f"fix.enable_units: {unit}: not a safe process name: {process}")
        else:
            found.append((unit, process))
    return tuple(found)
