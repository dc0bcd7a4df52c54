"""A "fully hardened" test host: the `pass` scenarios of every check of one policy merged into
one HostSpec, with the conflicts between them resolved so that as many checks as possible pass.

Merge rules (scenario keys as in tests/rulesets/scenarios.py):
  - files / overrides, keyed by path: equal contents are kept once; different contents of one
    path are united line by line, each scenario's own lines first (in check order), the lines
    every variant shares last. That suits the files met so far: sshd_config (sshd keeps the
    first value, so a scenario's own directive must precede the harness's default body), audit
    rules (all wanted) and banners (any of the passing texts).
  - modes, owners, sysctls, keyed by path or name: the first check's value wins; a different
    value later is recorded as a conflict.
  - auditor is not merged: the host keeps the auditor's passwordless sudo, so 5.2.4 fails there
    (for Wazuh too). A password for the auditor would put ageing fields in /etc/shadow that the
    harness fixes at 0/99999 days, which 5.4.1.1 and 5.4.1.2 rightly fail.
  - commands (stand-in programs): each program's output per arguments united line by line,
    identical lines once; nft's rulesets block by block (each chain's rules stay in that chain
    and every brace is closed). An output read from a file that the scenario's own setup
    writes (`{file: PATH}`) is left out, recorded as a conflict.
  - processes and setup: concatenated in check order, identical lines once. Every scenario
    that appends fake packages to the dpkg status file copies and bind-mounts it anew, which
    cannot be repeated: their packages are gathered into one such line, run last.
  - RESOLUTIONS replaces the setup of a few scenarios whose lines cannot coexist with others
    (two mounts over one directory, a /proc/sys/kernel that hides another check's value); two
    setup lines that still mount over one directory are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.harness import HostSpec
from tests.rulesets.scenarios import host_spec, load_scenarios

DPKG_SETUP = re.compile(
    r"^cp /var/lib/dpkg/status /run/dpkg-status && printf '(?P<stanzas>.*)' >> /run/dpkg-status"
    r" && mount --bind /run/dpkg-status /var/lib/dpkg/status$",
    re.DOTALL,
)

_LOG_TMPFS = "mount -t tmpfs -o mode=0755,nodev,nosuid,noexec tmpfs /var/log"
_AUDIT_TMPFS = "mount -t tmpfs -o mode=0700,nodev,nosuid,noexec tmpfs /var/log/audit"
_KERNEL_DIR = (
    "mkdir -p /run/kernel-sysctl/yama && echo Linux > /run/kernel-sysctl/ostype"
    " && echo 2 > /run/kernel-sysctl/randomize_va_space"
    " && echo 1 > /run/kernel-sysctl/yama/ptrace_scope"
    " && mount --bind /run/kernel-sysctl /proc/sys/kernel"
)

# 0286's compliant log files (its scenario binds a /var/log of its own), written in place.
_LOG_FILES = " && ".join(
    ["mkdir -p /var/log/journal/abc /var/log/apt"]
    + [
        f"printf 'x\\n' > /var/log/{name} && chmod {mode} /var/log/{name}"
        f" && chown {owner} /var/log/{name}"
        for name, mode, owner in (
            ("syslog", "0640", "root:adm"),
            ("auth.log", "0640", "root:adm"),
            ("wtmp", "0664", "root:utmp"),
            ("btmp", "0660", "root:utmp"),
            ("journal/abc/system.journal", "0640", "root:systemd-journal"),
            ("apt/history.log", "0640", "root:root"),
        )
    ]
)

# Stand-in programs whose output nests blocks in braces, one statement a line.
NESTED_OUTPUTS = {"nft"}

# check id -> (setup lines used in the merge instead of the scenario's own, why).
RESOLUTIONS: dict[str, dict[str, tuple[tuple[str, ...], str]]] = {
    "bulwark_debian12": {
        # This machine's kernel has no Yama: the scenario binds a fake /proc/sys/kernel holding
        # only ostype and yama/ptrace_scope, which would hide randomize_va_space (0001).
        "bwk-deb12-0002": ((_KERNEL_DIR,), "the fake /proc/sys/kernel also carries ASLR = 2"),
        # /var/log: 0066-0069 bind it with nodev,nosuid,noexec, 0070-0073 put an empty tmpfs
        # there to hold a separate /var/log/audit. One tmpfs with the options serves both.
        **{
            f"bwk-deb12-{n:04d}": (
                (f"{_LOG_TMPFS} && mkdir -m 0700 /var/log/audit", _AUDIT_TMPFS),
                "one /var/log tmpfs with nodev,nosuid,noexec holds the /var/log/audit mount",
            )
            for n in (66, 67, 68, 69, 70, 71, 72, 73)
        },
        # A plain tmpfs on /tmp (only there to give the filesystem scan a clean /tmp) would
        # hide the nodev,nosuid,noexec /tmp of 0048-0051, which is just as clean.
        "bwk-deb12-0180": (
            (
                "mount -t tmpfs -o mode=0755 tmpfs /srv && mkdir -m 1777 /srv/shared"
                " && touch /srv/shared/report && chmod 0644 /srv/shared/report"
                " && touch /srv/kept && chown daemon:daemon /srv/kept",
            ),
            "/tmp comes from 0048; 0180 and 0181 share one /srv tmpfs",
        ),
        "bwk-deb12-0181": ((), "merged into 0180's /srv"),
        # 0286 binds a /var/log of its own holding log files with compliant modes; in the merge
        # they are written into the /var/log tmpfs above instead.
        "bwk-deb12-0286": ((_LOG_FILES,), "its log files go into the one /var/log tmpfs"),
        # 0295 writes an audit rule for each setuid file its host sees, and serves them as the
        # loaded rules from a file (not merged: the other checks' auditctl stand-in serves
        # theirs). A plain /tmp tmpfs would hide 0048's; the hardened host fails 0295.
        "bwk-deb12-0295": ((), "left out: its loaded rules are a file its own hosts write"),
    },
}


@dataclass
class MergedSpec:
    """The merged scenario (HostSpec keys, as a scenario), the policy's scenario base, and what
    the merge had to decide."""

    spec: dict[str, Any] = field(default_factory=dict)
    base: dict[str, Any] = field(default_factory=dict)
    # (key, path or name, check ids involved, how it was settled)
    conflicts: list[tuple[str, str, tuple[str, ...], str]] = field(default_factory=list)
    resolved: dict[str, str] = field(default_factory=dict)  # check id -> why


def _united_lines(variants: list[str]) -> str:
    """Each variant's own lines first (in order), then the lines every variant has."""
    split = [v.splitlines() for v in variants]
    shared = [line for line in split[0] if all(line in other for other in split[1:])]
    own: list[str] = []
    for lines in split:
        own.extend(line for line in lines if line not in shared and line not in own)
    return "".join(f"{line}\n" for line in [*own, *shared])


def _united_output(variants: list[str]) -> str:
    """The lines of every variant, each once, in the order first seen."""
    lines: dict[str, None] = {}
    for text in variants:
        lines.update(dict.fromkeys(text.splitlines(keepends=True)))
    return "".join(lines)


Block = dict[str, "Block | None"]  # a line -> its nested block (a line ending in "{") or None


def _blocks(text: str) -> Block:
    root: Block = {}
    stack = [root]
    for raw in text.splitlines():
        line = raw.strip()
        if line == "}":
            stack.pop()
        elif line.endswith("{"):
            child = stack[-1].get(line)
            if child is None:
                child = stack[-1][line] = {}
            stack.append(child)
        elif line:
            stack[-1].setdefault(line, None)
    return root


def _unite(into: Block, block: Block) -> None:
    for line, child in block.items():
        if child is None:
            into.setdefault(line, None)
        else:
            mine = into.get(line)
            if mine is None:
                mine = into[line] = {}
            _unite(mine, child)


def _render(block: Block, depth: int = 0) -> str:
    indent = "\t" * depth
    return "".join(
        f"{indent}{line}\n"
        if child is None
        else f"{indent}{line}\n{_render(child, depth + 1)}{indent}}}\n"
        for line, child in block.items()
    )


def _united_blocks(variants: list[str]) -> str:
    """Brace-nested outputs (`nft list ruleset`: tables, chains, rules) united block by block:
    each chain gets the rules every variant has in that chain, the others' after its own, so
    a rule stays in its chain and every brace closes what it opened."""
    united: Block = {}
    for text in variants:
        _unite(united, _blocks(text))
    return _render(united)


def merge_pass_scenarios(policy_path: Path, check_ids: list[str]) -> MergedSpec:
    """Merge the pass scenarios of these checks (in this order) into one scenario."""
    return merge_scenarios(policy_path, check_ids, "pass")


def merge_scenarios(
    policy_path: Path,
    check_ids: list[str],
    side: str,
    keep_setup: Callable[[str], bool] = lambda line: True,
) -> MergedSpec:
    """Merge the `side` ("pass" or "fail") scenarios of these checks into one scenario. The
    RESOLUTIONS are for the pass side (the remediation proof merges fail sides); setup lines
    for which `keep_setup` says False are left out."""
    base, scenarios = load_scenarios(policy_path)
    resolutions = RESOLUTIONS.get(policy_path.stem, {}) if side == "pass" else {}
    merged = MergedSpec(base=base)
    contents: dict[str, dict[str, list[tuple[str, str]]]] = {"files": {}, "overrides": {}}
    keyed: dict[str, dict[str, tuple[str, Any]]] = {"modes": {}, "owners": {}, "sysctls": {}}
    lines: dict[str, dict[str, None]] = {"setup": {}, "processes": {}}
    packages: list[str] = []  # the printf text of each dpkg status line
    loaded: dict[str, dict[str, list[str]]] = {}  # program -> arguments -> distinct outputs
    for check_id in check_ids:
        own = dict(scenarios[check_id][side] or {})
        if check_id in resolutions:
            own["setup"], merged.resolved[check_id] = resolutions[check_id]
        for key, by_path in contents.items():
            for path, text in (own.get(key) or {}).items():
                variants = by_path.setdefault(path, [])
                if all(text != seen for _, seen in variants):
                    variants.append((check_id, text))
        for key, by_name in keyed.items():
            for name, value in (own.get(key) or {}).items():
                first = by_name.setdefault(name, (check_id, value))
                if str(first[1]) != str(value):
                    how = f"kept {first[1]!r} of {first[0]}"
                    merged.conflicts.append((key, name, (first[0], check_id), how))
        for program, outputs in (own.get("commands") or {}).items():
            for arguments, text in outputs.items():
                if not isinstance(text, str):
                    # A file the scenario's own setup writes on its host: nothing to unite.
                    how = "left out (an output its own setup writes)"
                    where = f"{program} {arguments}"
                    merged.conflicts.append(("commands", where, (check_id,), how))
                    continue
                variants = loaded.setdefault(program, {}).setdefault(arguments, [])
                if text not in variants:
                    variants.append(text)
        for key, seen in lines.items():
            for line in own.get(key) or []:
                if key == "setup" and not keep_setup(line):
                    continue
                match = DPKG_SETUP.match(line) if key == "setup" else None
                if match:
                    # Once: a package several scenarios fake (gdm3 for every GDM check) listed
                    # twice in the status file makes dpkg-query fail for all of them.
                    if match["stanzas"] not in packages:
                        packages.append(match["stanzas"])
                else:
                    seen.setdefault(line, None)
    for key, by_path in contents.items():
        if by_path:
            merged.spec[key] = {}
        for path, variants in by_path.items():
            texts = [text for _, text in variants]
            merged.spec[key][path] = texts[0] if len(texts) == 1 else _united_lines(texts)
            if len(texts) > 1:
                ids = tuple(check_id for check_id, _ in variants)
                merged.conflicts.append((key, path, ids, "lines united"))
    for key, by_name in keyed.items():
        if by_name:
            merged.spec[key] = {name: value for name, (_, value) in by_name.items()}
    setup = list(lines["setup"])
    if packages:
        stanzas = "".join(packages)
        # Last: a later `mount --bind /var /var` would hide a bind mount made inside /var.
        setup.append(
            f"cp /var/lib/dpkg/status /run/dpkg-status && printf '{stanzas}' >> /run/dpkg-status"
            " && mount --bind /run/dpkg-status /var/lib/dpkg/status",
        )
    if loaded:
        merged.spec["commands"] = {
            program: {
                arguments: (_united_blocks if program in NESTED_OUTPUTS else _united_output)(texts)
                for arguments, texts in outputs.items()
            }
            for program, outputs in loaded.items()
        }
    refuse_double_mounts(setup)
    if setup:
        merged.spec["setup"] = setup
    if lines["processes"]:
        merged.spec["processes"] = list(lines["processes"])
    return merged


def refuse_double_mounts(setup: list[str]) -> None:
    """Two setup lines mounting over one directory: the later one hides the earlier one."""
    targets: dict[str, str] = {}
    for line in setup:
        for command in line.split("&&"):
            words = command.split()
            if words[:1] != ["mount"] or "remount" in command:
                continue
            target = words[-1]
            if target in targets and targets[target] != line:
                raise ValueError(f"two setup lines mount {target}: {targets[target]!r}, {line!r}")
            targets[target] = line


def hardened_host_spec(name: str, policy_path: Path, check_ids: list[str]) -> HostSpec:
    """The test host of the merged pass scenarios (with the `auditor` sudo user)."""
    merged = merge_pass_scenarios(policy_path, check_ids)
    return host_spec(name, merged.base, merged.spec)
