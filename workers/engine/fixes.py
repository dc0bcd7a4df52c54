"""Machine-runnable remediation of a check: the optional `fix:` key of our policies.

A Wazuh agent ignores the key; our loader validates it (docs/policy-format-extensions.md):

    fix:
      test: "sh command that exits 0 when the host is compliant"
      sh: "sh snippet that makes it so (run as root, only when test fails)"
      powershell_test / powershell: the same for Windows
      ansible: [tasks]            # idempotent Ansible tasks
      sshd: {Keyword: value}      # shorthand: sshd settings, expanded to test, sh and ansible
      sysctl: {net.x.y: 0}        # shorthand: kernel parameters, set now and persisted
      manual: "why no automatic fix is offered (a decision is needed)"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import Node

KEYS = ("test", "sh", "powershell_test", "powershell", "ansible", "sshd", "sysctl", "manual")
_SSHD_KEYWORD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# Values go into a shell command and a config file unquoted: keep them to a safe alphabet.
_SSHD_VALUE = re.compile(r"^[A-Za-z0-9_.:/,@+=-]+$")
_SYSCTL_KEY = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$")
_SYSCTL_VALUE = re.compile(r"^-?[0-9]+$")


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
    manual: str = ""
    line: int = 0

    @property
    def automatic(self) -> bool:
        return bool(self.sh or self.powershell or self.ansible or self.sshd or self.sysctl)


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
        report(node, "fix must be a mapping of test, sh, powershell, ansible, sshd, manual")
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
        if not _SYSCTL_KEY.match(str(key)) or not _SYSCTL_VALUE.match(str(setting)):
            problems.append(f"fix.sysctl: {key}: expected a parameter name and an integer")
    if "manual" in value and len(value) > 1:
        problems.append("fix.manual says no automatic fix is offered: it stands alone")
    for problem in problems:
        report(node, problem)
    if problems:
        return None
    return FixDefinition(
        test=value.get("test", ""),
        sh=value.get("sh", ""),
        powershell_test=value.get("powershell_test", ""),
        powershell=value.get("powershell", ""),
        ansible=tuple(tasks),
        sshd=tuple((str(k), str(v)) for k, v in sshd.items()),
        sysctl=tuple((str(k), str(v)) for k, v in sysctl.items()),
        manual=value.get("manual", ""),
        line=node.start_mark.line + 1,
    )
