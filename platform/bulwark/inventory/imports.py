"""Bulk import of hosts from a CSV file or an Ansible inventory (INI or YAML): a plan first
(what would be created, or every problem as file:line), then all or nothing.

The file is read by the CLI's own parser (workers/cli/inventory.py), so an inventory means the
same to `python -m workers audit --inventory` and to the import page. Each host is validated
by the model (Host.full_clean: address rules, AUDIT_TARGET_DENY, local hosts), into one group
the importing user administers; its login comes from a credential of that group, not from the
inventory (passwords in an inventory are refused by the parser; key files stay on the machine
that has them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from bulwark.inventory.access import can
from bulwark.inventory.models import Credential, Group, Host, Role
from workers.cli.inventory import InventoryError, parse_inventory
from workers.cli.targets import HostTarget

MAX_BYTES = 1024 * 1024  # a 10,000-host inventory is a few hundred KB
MAX_HOSTS = 10_000
DEFAULT_PORTS = {"ssh": 22, "winrm": 5986, "local": 22}
# Inventory settings that belong to a credential (or to the CLI's machine): not imported.
LOGIN_SETTINGS = ("key_file", "known_hosts", "password_env", "sudo", "sudo_password_env")


@dataclass
class ImportPlan:
    """What an import would create, or why it cannot: `problems` empty means it may run."""

    group: Group
    credential: Credential | None
    hosts: list[tuple[str, Host]] = field(default_factory=list)  # (file:line, unsaved host)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ImportRefused(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def plan(
    user: Any, name: str, data: bytes, group: Group, credential: Credential | None = None
) -> ImportPlan:
    """Parse and validate an uploaded inventory for `group` (the user must administer it)."""
    if not can(user, group, Role.ADMIN):
        raise PermissionDenied("only admins of the group import hosts into it")
    result = ImportPlan(group, credential)
    if credential is not None and credential.group_id != group.pk:
        result.problems.append("the credential must be one of the group's")
        return result
    if len(data) > MAX_BYTES:
        result.problems.append(f"{name}: larger than {MAX_BYTES} bytes")
        return result
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.problems.append(f"{name}: not UTF-8 text (byte {exc.start})")
        return result
    try:
        targets = parse_inventory(name, text)
    except InventoryError as exc:
        result.problems.append(str(exc))
        return result
    if not targets:
        result.problems.append(f"{name}: no hosts found")
    if len(targets) > MAX_HOSTS:
        result.problems.append(f"{name}: {len(targets)} hosts; one import takes {MAX_HOSTS}")
        return result
    skipped: set[str] = set()
    for target in targets:
        host = _host(target, group, credential)
        skipped |= {key for key in LOGIN_SETTINGS if target.settings.get(key)}
        if target.user:
            skipped.add("ansible_user")
        if target.settings.get("ca_file"):
            result.problems.append(
                f"{target.where}: host {target.name}: ansible_winrm_ca_trust_path names a file "
                "on your machine: remove it and paste the CA certificates on the host's page"
            )
        try:
            host.full_clean()
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                what = "" if field_name == "__all__" else f"{field_name}: "
                result.problems += [
                    f"{target.where}: host {target.name}: {what}{m}" for m in messages
                ]
        result.hosts.append((target.where, host))
    result.problems = list(dict.fromkeys(result.problems))  # a field and clean() may agree
    if skipped:
        result.notes.append(
            "not imported (the group's credential logs in): " + ", ".join(sorted(skipped))
        )
    return result


def apply(
    user: Any, name: str, data: bytes, group: Group, credential: Credential | None
) -> list[Host]:
    """Plan again (nothing posted from the preview is trusted) and create every host in one
    transaction, or none: raises ImportRefused with the problems."""
    result = plan(user, name, data, group, credential)
    if result.problems:
        raise ImportRefused(result.problems)
    try:
        with transaction.atomic():
            for _where, host in result.hosts:
                host.save()
    except IntegrityError:  # a host of the same name was saved meanwhile
        raise ImportRefused([f"{name}: a host was added meanwhile; preview again"]) from None
    return [host for _where, host in result.hosts]


def _host(target: HostTarget, group: Group, credential: Credential | None) -> Host:
    settings = target.settings
    return Host(
        name=target.name,
        transport=target.connection,
        address=target.address,
        port=target.port or _default_port(target),
        group=group,
        credential=credential,
        host_key=settings.get("host_key", ""),
        winrm_auth=(settings.get("winrm_auth") or "ntlm").lower(),
        winrm_allow_http=settings.get("winrm_scheme", "https").lower() == "http",
    )


def _default_port(target: HostTarget) -> int:
    if target.connection == "winrm" and target.settings.get("winrm_scheme", "").lower() == "http":
        return 5985
    return DEFAULT_PORTS.get(target.connection, 22)
