"""Inventories: Ansible INI or YAML, or a simple CSV, read into HostTargets; --limit patterns.

Ansible variables understood: ansible_host, ansible_port, ansible_user, ansible_connection
(ssh, winrm, local), ansible_ssh_private_key_file, ansible_become, ansible_winrm_scheme,
ansible_winrm_transport, ansible_winrm_ca_trust_path; ours: bulwark_host_key,
bulwark_known_hosts, bulwark_password_env, bulwark_sudo_password_env. Passwords written in an
inventory are refused (they belong in environment variables), and so is turning certificate
validation off. Variables precedence follows Ansible: all < parent group < child group < host.
"""

from __future__ import annotations

import csv
import fnmatch
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

import yaml

from workers.cli.targets import HostTarget
from workers.engine.yaml_bounds import check_bounds

ALIASES = {
    "ansible_ssh_private_key_file": "key_file",
    "ansible_private_key_file": "key_file",
    "bulwark_host_key": "host_key",
    "bulwark_known_hosts": "known_hosts",
    "bulwark_password_env": "password_env",
    "bulwark_sudo_password_env": "sudo_password_env",
    "ansible_winrm_scheme": "winrm_scheme",
    "ansible_winrm_transport": "winrm_auth",
    "ansible_winrm_ca_trust_path": "ca_file",
    "ansible_become": "sudo",
}
REFUSED = {
    "ansible_password": "a password in an inventory; name an environment variable with "
    "bulwark_password_env",
    "ansible_ssh_pass": "a password in an inventory; use bulwark_password_env",
    "ansible_become_password": "a password in an inventory; use bulwark_sudo_password_env",
    "ansible_become_pass": "a password in an inventory; use bulwark_sudo_password_env",
}
# Ansible connection plugins we can stand in for -> our transports (CONNECTIONS).
CONNECTION_NAMES = {
    "ssh": "ssh",
    "paramiko": "ssh",
    "smart": "ssh",
    "winrm": "winrm",
    "local": "local",
}
_RANGE = re.compile(r"\[(\d+):(\d+)\]")
CSV_COLUMNS = (
    "name",
    "host",
    "port",
    "user",
    "connection",
    "groups",
    *sorted(set(ALIASES.values())),
)


class InventoryError(ValueError):
    """The inventory cannot be read; the message names the file, the line and what is wrong."""


@dataclass
class _Group:
    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, str] = field(default_factory=dict)


@dataclass
class _Inventory:
    path: str
    groups: dict[str, _Group] = field(default_factory=dict)
    host_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)

    def group(self, name: str) -> _Group:
        return self.groups.setdefault(name, _Group(name))

    def add_host(self, name: str, group: str, variables: Mapping[str, str], where: str) -> None:
        self.host_vars.setdefault(name, {}).update(variables)
        self.where.setdefault(name, where)
        if name not in self.group(group).hosts:
            self.group(group).hosts.append(name)


def load_inventory(path: str) -> list[HostTarget]:
    """The hosts of an inventory file, in file order. Raises InventoryError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InventoryError(f"{path}: cannot read the inventory: {exc}") from None
    return parse_inventory(path, text)


def parse_inventory(name: str, text: str) -> list[HostTarget]:
    """The hosts of an inventory's text, in file order; `name` (a path or an uploaded file's
    name) decides the format by its suffix (.csv, .yml/.yaml, else INI unless the text starts
    like YAML) and prefixes every message. Raises InventoryError. The platform's host import
    reads uploads through this too (bulwark/inventory/imports.py)."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".csv":
        return _from_csv(name, text)
    if suffix in (".yml", ".yaml") or text.lstrip().startswith(("all:", "---")):
        inventory = _parse_yaml(name, text)
    else:
        inventory = _parse_ini(name, text)
    return _targets(inventory)


def expand_range(name: str) -> list[str]:
    """Ansible's numeric host ranges: web[01:03] -> web01, web02, web03 (one range)."""
    match = _RANGE.search(name)
    if not match:
        return [name]
    start, end = match.group(1), match.group(2)
    if int(end) < int(start) or int(end) - int(start) > 10000:
        raise ValueError(f"bad host range {match.group(0)}")
    width = len(start) if start.startswith("0") else 0
    return [
        name[: match.start()] + str(n).zfill(width) + name[match.end() :]
        for n in range(int(start), int(end) + 1)
    ]


def _parse_ini(path: str, text: str) -> _Inventory:
    inventory = _Inventory(path)
    section, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{path}:{number}"
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            if not line.endswith("]"):
                raise InventoryError(f"{where}: unclosed section header {line!r}")
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children") or not section:
                raise InventoryError(f"{where}: unknown section {line!r}")
            inventory.group(section)
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise InventoryError(f"{where}: {exc}") from None
        if kind == "children":
            inventory.group(section).children.append(words[0])
            inventory.group(words[0])
        elif kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise InventoryError(f"{where}: expected key=value in [{section}:vars]")
            inventory.group(section).vars[key.strip()] = value.strip().strip("\"'")
        else:
            variables = {}
            for word in words[1:]:
                key, sep, value = word.partition("=")
                if not sep:
                    raise InventoryError(f"{where}: expected key=value, got {word!r}")
                variables[key] = value
            try:
                names = expand_range(words[0])
            except ValueError as exc:
                raise InventoryError(f"{where}: {exc}") from None
            for name in names:
                inventory.add_host(name, section, variables, where)
    return inventory


def _parse_yaml(path: str, text: str) -> _Inventory:
    # Bounded before libyaml composes it, like an uploaded policy (deep nesting, aliases).
    bounds = check_bounds(text)
    if bounds is not None:
        where = f"{path}:{bounds.line}" if bounds.line else path
        raise InventoryError(f"{where}: {bounds.message}")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InventoryError(f"{path}: expected a mapping of groups (all: ...)")
    inventory = _Inventory(path)
    lines = _key_lines(node)
    for name, body in data.items():
        _yaml_group(inventory, str(name), body, lines)
    return inventory


def _key_lines(node: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], int]:
    """The 1-based line of every mapping key, by its path of keys (for file:line messages)."""
    found: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, str(key.value))
            found[path] = key.start_mark.line + 1
            found.update(_key_lines(value, path))
    return found


def _yaml_group(
    inventory: _Inventory,
    name: str,
    body: Any,
    lines: dict[tuple[str, ...], int],
    path: tuple[str, ...] = (),
) -> None:
    path = (*path, name)
    where = f"{inventory.path}:{lines.get(path, 1)}: group {name}"
    group = inventory.group(name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise InventoryError(f"{where}: expected hosts/vars/children, got {type(body).__name__}")
    unknown = set(body) - {"hosts", "vars", "children"}
    if unknown:
        raise InventoryError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))}")
    variables_of_group = _mapping(body, "vars", where)
    group.vars.update({str(k): _scalar(v, where) for k, v in variables_of_group.items()})
    for host, variables in _mapping(body, "hosts", where).items():
        at = f"{inventory.path}:{lines.get((*path, 'hosts', str(host)), 1)}"
        if variables is not None and not isinstance(variables, dict):
            raise InventoryError(f"{at}: host {host}: variables must be a mapping")
        values = {str(k): _scalar(v, f"{at}: host {host}") for k, v in (variables or {}).items()}
        try:
            names = expand_range(str(host))
        except ValueError as exc:
            raise InventoryError(f"{at}: {exc}") from None
        for each in names:
            inventory.add_host(each, name, values, at)
    for child, child_body in _mapping(body, "children", where).items():
        group.children.append(str(child))
        _yaml_group(inventory, str(child), child_body, lines, (*path, "children"))


def _mapping(body: dict[Any, Any], key: str, where: str) -> dict[Any, Any]:
    value = body.get(key) or {}
    if not isinstance(value, dict):
        raise InventoryError(f"{where}: {key} must be a mapping, got {type(value).__name__}")
    return value


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InventoryError(f"{where}: variable values must be scalars, got {type(value).__name__}")


def _ancestors(inventory: _Inventory) -> dict[str, list[str]]:
    """For each group, its ancestors ordered from the most general (`all`) to itself."""
    parents: dict[str, set[str]] = {name: set() for name in inventory.groups}
    for group in inventory.groups.values():
        for child in group.children:
            parents.setdefault(child, set()).add(group.name)

    def depth(name: str, seen: frozenset[str]) -> int:
        if name in seen:
            raise InventoryError(f"{inventory.path}: group {name} is its own ancestor")
        ups = parents.get(name, set()) - {"all"}
        return 1 + max((depth(up, seen | {name}) for up in ups), default=0)

    chains: dict[str, list[str]] = {}
    for name in inventory.groups:
        found: set[str] = set()
        todo = [name]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo += parents.get(current, ())
        chains[name] = sorted(found, key=lambda g: (g != "all", depth(g, frozenset()), g))
    return chains


def _targets(inventory: _Inventory) -> list[HostTarget]:
    chains = _ancestors(inventory)
    member: dict[str, set[str]] = {}
    for group in inventory.groups.values():
        for host in group.hosts:
            member.setdefault(host, set()).add(group.name)
    targets = []
    for name, own in inventory.host_vars.items():
        groups: list[str] = []
        for direct in sorted(member.get(name, ())):
            groups += [g for g in chains[direct] if g not in groups]
        groups.sort(key=lambda g: (g != "all", len(chains.get(g, ())), g))
        variables: dict[str, str] = dict(inventory.groups.get("all", _Group("all")).vars)
        for group_name in groups:
            variables.update(inventory.groups[group_name].vars)
        variables.update(own)
        targets.append(_target(name, variables, groups, inventory.where[name]))
    return targets


def _target(
    name: str, variables: Mapping[str, str], groups: Sequence[str], where: str
) -> HostTarget:
    settings: dict[str, str] = {}
    for key, value in variables.items():
        if key in REFUSED:
            raise InventoryError(f"{where}: host {name}: {key} refused: {REFUSED[key]}")
        if "{{" in value:
            raise InventoryError(f"{where}: host {name}: {key}: templates are not evaluated")
        if key == "ansible_winrm_server_cert_validation" and value.lower() == "ignore":
            raise InventoryError(
                f"{where}: host {name}: certificate validation cannot be turned off; "
                "trust the host's CA (or its own certificate) with ansible_winrm_ca_trust_path"
            )
        if key in ALIASES:
            settings[ALIASES[key]] = value.lower() if ALIASES[key] == "sudo" else value
    connection = CONNECTION_NAMES.get(variables.get("ansible_connection", "ssh"))
    if connection is None:
        raise InventoryError(
            f"{where}: host {name}: ansible_connection must be one of ssh, winrm, local"
        )
    if settings.get("sudo") in ("yes", "1", "on"):
        settings["sudo"] = "true"
    port_text = variables.get("ansible_port", "")
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise InventoryError(f"{where}: host {name}: bad ansible_port {port_text!r}")
    return HostTarget(
        name=name,
        connection=connection,
        host=variables.get("ansible_host", name),
        port=int(port_text) if port_text else None,
        user=variables.get("ansible_user", ""),
        groups=tuple(g for g in groups if g != "all"),
        settings=settings,
        where=where,
    )


def _from_csv(path: str, text: str) -> list[HostTarget]:
    reader = csv.DictReader(text.splitlines())
    columns = reader.fieldnames or []
    unknown = set(columns) - set(CSV_COLUMNS)
    if "name" not in columns or unknown:
        raise InventoryError(
            f"{path}:1: the header needs 'name' and may have only {', '.join(CSV_COLUMNS)}"
            + (f" (unknown: {', '.join(sorted(unknown))})" if unknown else "")
        )
    targets, seen = [], set()
    for number, row in enumerate(reader, start=2):
        name = (row.get("name") or "").strip()
        where = f"{path}:{number}"
        if not name:
            raise InventoryError(f"{where}: empty name")
        if name in seen:
            raise InventoryError(f"{where}: host {name} is listed twice")
        seen.add(name)
        variables = {
            "ansible_host": (row.get("host") or "").strip() or name,
            "ansible_port": (row.get("port") or "").strip(),
            "ansible_user": (row.get("user") or "").strip(),
            "ansible_connection": (row.get("connection") or "").strip() or "ssh",
        }
        reverse = {ours: theirs for theirs, ours in ALIASES.items()}
        for ours in set(ALIASES.values()):
            if (row.get(ours) or "").strip():
                variables[reverse[ours]] = row[ours].strip()
        groups = (row.get("groups") or "").split()
        targets.append(_target(name, {k: v for k, v in variables.items() if v}, groups, where))
    return targets


def limit(targets: Iterable[HostTarget], pattern: str) -> list[HostTarget]:
    """Ansible's --limit: names or groups (globs allowed) separated by ',' or ':';
    `&x` keeps only hosts also in x, `!x` removes them. `all` or `*` selects every host."""
    terms = [t.strip() for t in re.split(r"[,:]", pattern) if t.strip()]
    hosts = list(targets)

    def matches(target: HostTarget, term: str) -> bool:
        names = (target.name, target.address, *target.groups, "all")
        return any(fnmatch.fnmatchcase(n, term) for n in names)

    positive = [t for t in terms if not t.startswith(("&", "!"))]
    chosen = [h for h in hosts if any(matches(h, t) for t in positive)] if positive else hosts
    for term in terms:
        if term.startswith("&"):
            chosen = [h for h in chosen if matches(h, term[1:])]
        elif term.startswith("!"):
            chosen = [h for h in chosen if not matches(h, term[1:])]
    return chosen
