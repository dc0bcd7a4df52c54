"""Exceptions as code: a YAML file teams keep in git, exported and imported all or nothing.

    exceptions:
      - policy_id: bulwark_debian12
        check_id: bwk-deb12-0010
        host: web-1            # or `group: servers`, or neither: every host
        host_group: servers    # the host's group: host names are unique per group only
        justification: "cramfs is needed by the appliance firmware updater"
        owner: ops-team
        reference: SEC-123
        expires_at: 2027-03-01

Importing creates the entries that are not already in effect (same check, scope, expiry and
justification: skipped), each through the same service as the API; a single bad entry refuses
the whole file with `file:line: message` for every problem.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bulwark.audits import risk_services
from bulwark.audits.risks import RiskException
from bulwark.inventory.access import scope
from bulwark.inventory.models import Group, Host

FIELDS = (
    "policy_id",
    "check_id",
    "host",
    "host_group",
    "group",
    "justification",
    "owner",
    "reference",
)
REQUIRED = ("policy_id", "check_id", "justification", "owner", "expires_at")
MAX_BYTES = 2_000_000


class ExceptionFileRefused(Exception):
    """The file was refused as a whole; `problems` are `file:line: message` strings."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s); nothing imported")
        self.problems = problems


@dataclass(frozen=True)
class ImportReport:
    created: list[int]
    skipped: int


def export_text(exceptions: list[RiskException]) -> str:
    """The pending and active exceptions as the YAML file (host and group by name)."""
    entries = []
    for e in exceptions:
        entry: dict[str, Any] = {"policy_id": e.policy_id, "check_id": e.check_id}
        if e.host_id:
            entry["host"] = e.host.name  # type: ignore[union-attr]
            entry["host_group"] = e.host.group.name  # type: ignore[union-attr]
        if e.group_id:
            entry["group"] = e.group.name  # type: ignore[union-attr]
        entry.update(
            justification=e.justification,
            owner=e.owner,
            reference=e.reference,
            expires_at=e.expires_at.isoformat(),
        )
        entries.append(entry)
    return yaml.safe_dump({"exceptions": entries}, sort_keys=False, allow_unicode=True)


def import_text(text: str, name: str, user: Any) -> ImportReport:
    """Parse, validate and create every entry, or none (ExceptionFileRefused)."""
    problems: list[str] = []
    if len(text.encode()) > MAX_BYTES:
        raise ExceptionFileRefused([f"{name}: larger than {MAX_BYTES} bytes"])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ExceptionFileRefused([f"{name}{line}: not valid YAML ({exc})"]) from None
    entries = _entries(root, name, problems)
    parsed = [(line, _build(fields, f"{name}:{line}", problems, user)) for line, fields in entries]
    if problems:
        raise ExceptionFileRefused(problems)
    created, skipped = [], 0
    # One transaction: a refusal half-way rolls back what was created before it.
    with transaction.atomic():
        for line, exception in parsed:
            assert exception is not None
            if _already(exception):
                skipped += 1
                continue
            try:
                created.append(risk_services.create(user, exception, note=f"import {name}").pk)
            except ValidationError as exc:
                for field, messages in risk_services.validation_messages(exc).items():
                    problems += [f"{name}:{line}: {field}: {m}" for m in messages]
            except PermissionDenied as exc:
                problems.append(f"{name}:{line}: {exc}")
        if problems:
            raise ExceptionFileRefused(problems)
    return ImportReport(created, skipped)


def _entries(
    root: Node | None, name: str, problems: list[str]
) -> list[tuple[int, dict[str, Node]]]:
    top = dict(_pairs(root)) if isinstance(root, MappingNode) else {}
    listing = top.get("exceptions")
    if not isinstance(listing, SequenceNode):
        line = root.start_mark.line + 1 if root is not None else 1
        problems.append(f"{name}:{line}: expected a mapping with a list `exceptions:`")
        return []
    entries = []
    for item in listing.value:
        line = item.start_mark.line + 1
        if not isinstance(item, MappingNode):
            problems.append(f"{name}:{line}: each exception is a mapping")
            continue
        fields = dict(_pairs(item))
        unknown = sorted(set(fields) - {*FIELDS, "expires_at"})
        if unknown:
            problems.append(f"{name}:{line}: unknown key(s): {', '.join(unknown)}")
        entries.append((line, fields))
    return entries


def _pairs(node: MappingNode) -> list[tuple[str, Node]]:
    return [(str(k.value), v) for k, v in node.value if isinstance(k, ScalarNode)]


def _build(
    fields: dict[str, Node], where: str, problems: list[str], user: Any
) -> RiskException | None:
    values: dict[str, str] = {}
    for key, node in fields.items():
        line = f"{where.rsplit(':', 1)[0]}:{node.start_mark.line + 1}"
        if not isinstance(node, ScalarNode):
            problems.append(f"{line}: {key} must be a single value")
            continue
        values[key] = str(node.value).strip()
    missing = [key for key in REQUIRED if not values.get(key)]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
        return None
    try:
        expires = dt.date.fromisoformat(values["expires_at"])
    except ValueError:
        problems.append(f"{where}: expires_at {values['expires_at']!r} is not a YYYY-MM-DD date")
        return None
    exception = RiskException(
        policy_id=values["policy_id"],
        check_id=values["check_id"],
        justification=values["justification"],
        owner=values["owner"],
        reference=values.get("reference", ""),
        expires_at=expires,
    )
    if values.get("host") and values.get("group"):
        problems.append(f"{where}: host or group, not both")
        return None
    if values.get("host_group") and not values.get("host"):
        problems.append(f"{where}: host_group names the group of a host: add host")
    if values.get("host"):
        # Names resolve among what the user sees: another group's host "does not exist".
        # Host names are unique per group only: never pick one of two silently.
        named = scope(Host.objects.all(), user, "group").filter(name=values["host"])
        in_group = f" in group {values['host_group']!r}" if values.get("host_group") else ""
        if in_group:
            named = named.filter(group__name=values["host_group"])
        hosts = list(named[:2])
        exception.host = hosts[0] if len(hosts) == 1 else None
        if not hosts:
            problems.append(f"{where}: no host named {values['host']!r}{in_group}")
        elif len(hosts) > 1:
            problems.append(
                f"{where}: several of your groups have a host {values['host']!r}:"
                " say which with host_group"
            )
    if values.get("group"):
        exception.group = (
            scope(Group.objects.all(), user, "pk").filter(name=values["group"]).first()
        )
        if exception.group is None:
            problems.append(f"{where}: no group named {values['group']!r}")
    try:
        exception.full_clean(exclude=["policy_check"])
    except ValidationError as exc:
        for field, messages in risk_services.validation_messages(exc).items():
            problems += [f"{where}: {field}: {m}" for m in messages]
    return exception


def _already(exception: RiskException) -> bool:
    return RiskException.objects.filter(
        policy_id=exception.policy_id,
        check_id=exception.check_id,
        host_id=exception.host_id,
        group_id=exception.group_id,
        expires_at=exception.expires_at,
        justification=exception.justification,
        status__in=[RiskException.Status.PENDING, RiskException.Status.ACTIVE],
    ).exists()
