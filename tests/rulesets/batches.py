"""Linux check scenarios grouped so that one test host serves many checks.

Checks whose pass and fail scenarios change disjoint things share two hosts: one built from all
their pass scenarios and one from all their fail scenarios, so adding a check adds an audit of
milliseconds to an existing host instead of two host starts. Two scenarios conflict when they
touch the same path or a path in the same directory below /etc (sshd_config.d, pam.d, sudoers.d
are read as a whole), the same sysctl, or both leave processes running. A setup command touches
the absolute paths it names (each also as a directory: a bind mount hides what is below it); a
setup command that names no path, or runs an account tool, has effects no key describes, and
its check gets hosts of its own.

A check whose verdict on a shared host is not the expected one is judged again on hosts built
from its own scenarios alone (test_scenarios.py), so sharing can never fail a correct check.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path, PurePosixPath
from typing import Any

from tests.rulesets.scenarios import STAND_INS, load_scenarios

PATH_KEYS = ("files", "remove", "modes", "owners", "overrides")
ISOLATING_KEYS = ("users",)
ABSOLUTE_PATH = re.compile(r"(?<![\w.-])/[\w.@+-]+(?:/[\w.@+-]+)*")
ACCOUNT_TOOLS = re.compile(r"\b(useradd|usermod|userdel|groupadd|groupmod|chage|passwd|chpasswd)\b")
# Directories whose direct files are unrelated to each other: a file there conflicts only with
# itself, not with its siblings.
ETC = PurePosixPath("/etc")
FLAT_DIRECTORIES = {PurePosixPath("/"), ETC}


def touched(scenario: dict[str, Any]) -> set[tuple[str, str]] | None:
    """What a scenario changes, as conflict keys; None when it must have a host of its own."""
    if any(scenario.get(key) for key in ISOLATING_KEYS):
        return None
    paths = [str(raw) for kind in PATH_KEYS for raw in scenario.get(kind) or ()]
    keys: set[tuple[str, str]] = set()
    for command in scenario.get("setup") or ():
        named = ABSOLUTE_PATH.findall(str(command))
        if not named or ACCOUNT_TOOLS.search(str(command)):
            return None
        paths += named
        keys |= {("dir", name) for name in named}
    for raw in paths:
        path = PurePosixPath(raw)
        keys.add(("path", str(path)))
        if path.parent not in FLAT_DIRECTORIES:
            keys.add(("dir", str(path.parent)))
        # Below /etc a check reads a directory with its subdirectories (/etc/audit: auditd.conf
        # and rules.d/*.rules), so a path there conflicts with every path in its directories.
        if path.is_relative_to(ETC):
            keys |= {("dir", str(d)) for d in path.parents if d.is_relative_to(ETC) and d != ETC}
    keys |= {("sysctl", str(name)) for name in scenario.get("sysctls") or {}}
    if scenario.get("processes"):
        keys.add(("processes", ""))
    keys |= {("path", f"{STAND_INS}/{name}") for name in scenario.get("commands") or {}}
    return keys


@functools.cache
def batches(policy_path: Path) -> tuple[tuple[str, ...], ...]:
    """The policy's check ids grouped so that no two checks of a group conflict, in file order."""
    _base, scenarios = load_scenarios(policy_path)
    groups: list[tuple[list[str], set[tuple[str, str]]]] = []
    for check_id, both in scenarios.items():
        keys = [touched(both.get(kind) or {}) for kind in ("pass", "fail")]
        if keys[0] is None or keys[1] is None:
            groups.append(([check_id], {("alone", check_id)}))
            continue
        mine = keys[0] | keys[1]
        group = next(
            (g for g in groups if ("alone", g[0][0]) not in g[1] and not g[1] & mine), None
        )
        if group is None:
            groups.append(([check_id], set(mine)))
        else:
            group[0].append(check_id)
            group[1].update(mine)
    return tuple(tuple(ids) for ids, _ in groups)


def merged(scenarios: dict[str, dict[str, Any]], ids: tuple[str, ...], kind: str) -> dict[str, Any]:
    """One scenario made of the `kind` scenarios of `ids` (they touch disjoint things)."""
    if len(ids) == 1:
        return dict(scenarios[ids[0]].get(kind) or {})
    spec: dict[str, Any] = {}
    for check_id in ids:
        for key, value in (scenarios[check_id].get(kind) or {}).items():
            if isinstance(value, dict):
                spec[key] = {**(spec.get(key) or {}), **value}
            else:
                spec[key] = [*(spec.get(key) or []), *value]
    return spec
