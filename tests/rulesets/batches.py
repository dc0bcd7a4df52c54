"""Linux check scenarios grouped so that one test host serves many checks.

Checks whose pass and fail scenarios change disjoint things share two hosts: one built from all
their pass scenarios and one from all their fail scenarios, so adding a check adds an audit of
milliseconds to an existing host instead of two host starts. Two scenarios conflict when they
touch the same path or a path in the same directory below /etc (sshd_config.d, pam.d, sudoers.d
are read as a whole), the same sysctl, or both leave processes running. A setup command touches
the absolute paths it names (each also as a directory: a bind mount hides what is below it); a
setup command that names no path, or runs an account tool, has effects no key describes, and
its check gets hosts of its own. Two more conflicts: a stand-in for a program that reports
processes or sockets (ss, ps...) hides what real processes of another scenario show; and a
mount over (or unmount of) a directory hides whatever another scenario named below it, such
as a `mount --bind /var /var` over a fake dpkg status bound onto /var/lib/dpkg/status, however
deep (`covers`).

Two checks that change a thing in exactly the same way, in both their pass and their fail
scenarios (the same setup line, file body, mode...), do not conflict over it: each finds on the
shared hosts the state its own scenarios describe. Several checks that need the same fake
package (one dpkg status setup line) for their fail scenario then share one pair of hosts; the
merged scenario runs each distinct setup line once.

A check whose verdict on a shared host is not the expected one is judged again on hosts built
from its own scenarios alone (test_scenarios.py), so sharing can never fail a correct check.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path, PurePosixPath
from typing import Any

from tests.rulesets.scenarios import STAND_INS, load_scenarios

AUDITOR_SUDOERS = "/etc/sudoers.d/bwk-auditor"  # where lab/overlay.py writes its sudo rule

PATH_KEYS = ("files", "remove", "modes", "owners", "overrides")
ISOLATING_KEYS = ("users",)
ABSOLUTE_PATH = re.compile(r"(?<![\w.-])/[\w.@+-]+(?:/[\w.@+-]+)*")
ACCOUNT_TOOLS = re.compile(r"\b(useradd|usermod|userdel|groupadd|groupmod|chage|passwd|chpasswd)\b")
# Directories whose direct files are unrelated to each other: a file there conflicts only with
# itself, not with its siblings.
ETC = PurePosixPath("/etc")
FLAT_DIRECTORIES = {PurePosixPath("/"), ETC}
# Stand-ins of these programs replace the real view of the host's processes and sockets.
PROCESS_VIEWERS = {"ss", "netstat", "ps", "pgrep", "pidof", "lsof"}


Key = tuple[str, str]


def touched(scenario: dict[str, Any]) -> set[Key] | None:
    """What a scenario changes, as conflict keys; None when it must have a host of its own."""
    signed = _signed(scenario)
    return None if signed is None else set(signed)


def _signed(scenario: dict[str, Any]) -> dict[Key, frozenset[str]] | None:
    """touched()'s keys, each with what the scenario does to it (two scenarios that do the same
    to a key can share a host over it)."""
    if any(scenario.get(key) for key in ISOLATING_KEYS):
        return None
    changes: dict[Key, set[str]] = {}

    def change(key: Key, what: str) -> None:
        changes.setdefault(key, set()).add(what)

    def path_change(raw: str, what: str) -> None:
        path = PurePosixPath(raw)
        change(("path", str(path)), what)
        if path.parent not in FLAT_DIRECTORIES:
            change(("dir", str(path.parent)), what)
        # Below /etc a check reads a directory with its subdirectories (/etc/audit: auditd.conf
        # and rules.d/*.rules), so a path there conflicts with every path in its directories.
        if path.is_relative_to(ETC):
            for directory in path.parents:
                if directory.is_relative_to(ETC) and directory != ETC:
                    change(("dir", str(directory)), what)

    for kind in PATH_KEYS:
        value = scenario.get(kind) or ()
        for raw in value:
            body = value[raw] if isinstance(value, dict) else ""
            path_change(str(raw), f"{kind} {raw} {body!r}")
    for command in scenario.get("setup") or ():
        named = ABSOLUTE_PATH.findall(str(command))
        if not named or ACCOUNT_TOOLS.search(str(command)):
            return None
        what = f"setup {command}"
        for name in named:
            path_change(name, what)
            change(("dir", name), what)
    for name, value in (scenario.get("sysctls") or {}).items():
        change(("sysctl", str(name)), f"sysctl {value!r}")
    if scenario.get("processes"):
        change(("processes", ""), f"processes {list(scenario['processes'])!r}")
    for name, outputs in (scenario.get("commands") or {}).items():
        change(("path", f"{STAND_INS}/{name}"), f"commands {outputs!r}")
        if name in PROCESS_VIEWERS:
            change(("processes", ""), f"commands {name} {outputs!r}")
    if scenario.get("auditor"):
        # The harness writes the auditor's sudo rule, which sudoers checks read.
        path_change(AUDITOR_SUDOERS, f"auditor {scenario['auditor']!r}")
    return {key: frozenset(whats) for key, whats in changes.items()}


def mount_points(scenario: dict[str, Any]) -> set[PurePosixPath]:
    """The directories a scenario's setup mounts over or unmounts (remounts aside, which only
    change options): what another scenario put below them is hidden or gone."""
    points = set()
    for line in scenario.get("setup") or ():
        for command in re.split(r"&&|;|\|\|", str(line)):
            words = command.split()
            if "remount" in command or not {"mount", "umount"} & set(words):
                continue
            targets = [word for word in words if word.startswith("/")]
            if targets:
                points.add(PurePosixPath(targets[-1]))
    return points


def named_paths(scenario: dict[str, Any]) -> set[PurePosixPath]:
    """Every path a scenario's keys or setup lines name."""
    paths = {PurePosixPath(str(p)) for kind in PATH_KEYS for p in scenario.get(kind) or ()}
    for line in scenario.get("setup") or ():
        paths.update(PurePosixPath(p) for p in ABSOLUTE_PATH.findall(str(line)))
    return paths


def covers(points: set[PurePosixPath], paths: set[PurePosixPath]) -> bool:
    """Whether a mount at one of `points` would hide one of `paths` (strictly below it)."""
    return any(path != point and path.is_relative_to(point) for point in points for path in paths)


Sides = tuple[tuple[set[PurePosixPath], set[PurePosixPath]], ...]  # (mounts, paths) per kind


def _hidden(mine: Sides, theirs: Sides) -> bool:
    return any(
        covers(my_mounts, their_paths) or covers(their_mounts, my_paths)
        for (my_mounts, my_paths), (their_mounts, their_paths) in zip(mine, theirs, strict=True)
    )


@functools.cache
def batches(policy_path: Path) -> tuple[tuple[str, ...], ...]:
    """The policy's check ids grouped so that no two checks of a group conflict, in file order."""
    _base, scenarios = load_scenarios(policy_path)
    # Per group: its check ids, per key what its checks do to it in (pass, fail), and per kind
    # the directories its scenarios mount over and the paths they name.
    groups: list[tuple[list[str], dict[Key, tuple[frozenset[str], frozenset[str]]], Sides]] = []
    for check_id, both in scenarios.items():
        signed = [_signed(both.get(kind) or {}) for kind in ("pass", "fail")]
        if signed[0] is None or signed[1] is None:
            alone = {("alone", check_id): (frozenset(), frozenset())}
            groups.append(([check_id], alone, ((set(), set()), (set(), set()))))
            continue
        none: frozenset[str] = frozenset()
        mine = {
            key: (signed[0].get(key, none), signed[1].get(key, none))
            for key in signed[0].keys() | signed[1].keys()
        }
        sides = tuple(
            (mount_points(both.get(kind) or {}), named_paths(both.get(kind) or {}))
            for kind in ("pass", "fail")
        )
        group = next(
            (
                g
                for g in groups
                if ("alone", g[0][0]) not in g[1]
                and all(g[1].get(key, change) == change for key, change in mine.items())
                and not _hidden(sides, g[2])
            ),
            None,
        )
        if group is None:
            groups.append(([check_id], dict(mine), tuple((set(m), set(p)) for m, p in sides)))
        else:
            group[0].append(check_id)
            group[1].update(mine)
            for (mounts, paths), (my_mounts, my_paths) in zip(group[2], sides, strict=True):
                mounts.update(my_mounts)
                paths.update(my_paths)
    return tuple(tuple(ids) for ids, _, _ in groups)


def merged(scenarios: dict[str, dict[str, Any]], ids: tuple[str, ...], kind: str) -> dict[str, Any]:
    """One scenario made of the `kind` scenarios of `ids` (they touch disjoint things, or the same
    things in the same way: a list item they share, such as a setup line, comes once)."""
    if len(ids) == 1:
        return dict(scenarios[ids[0]].get(kind) or {})
    spec: dict[str, Any] = {}
    for check_id in ids:
        for key, value in (scenarios[check_id].get(kind) or {}).items():
            if isinstance(value, dict):
                spec[key] = {**(spec.get(key) or {}), **value}
            else:
                have = list(spec.get(key) or [])
                spec[key] = [*have, *(item for item in value if item not in have)]
    return spec
