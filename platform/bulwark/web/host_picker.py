"""Picking a host on a page: from a list while it is short, by name when it is not.

A <select> of every visible host grows with the fleet: at 1,200 hosts rendering it was most of
the dashboard's time (docs/history.md), and no one scrolls 10,000 options. Up to
`LIST_LIMIT` hosts (of the chosen group, when one is chosen) are listed; beyond that the
dashboard's filter is a text field, `host_name`, which the view turns into the usual
`host=<id>` (`host_named`), so links and reports keep one form of the query; the reports form
takes the name the same way. The forms that pick a host (a schedule's host, a credential's jump
host, a policy assignment's host) take a `TypedHostField` beyond the limit (`listed_or_typed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from bulwark.inventory.access import scope
from bulwark.inventory.models import Host
from bulwark.reports.parameters import FilterError, Filters

LIST_LIMIT = 200


def visible_hosts(user: Any) -> QuerySet[Host]:
    """The hosts the user sees, by name, with their group (for host pickers)."""
    return scope(Host.objects.select_related("group"), user, "group").order_by("name")


def listed(user: Any) -> bool:
    """Whether the user's hosts are few enough to be offered as a list."""
    return visible_hosts(user)[LIST_LIMIT : LIST_LIMIT + 1].count() == 0


@dataclass(frozen=True)
class HostPicker:
    """`choices` (id, name, group name) by name while there are at most LIST_LIMIT; None when
    the host is typed. `chosen_name` is then the chosen host's name (for the text field)."""

    choices: list[tuple[int, str, str]] | None
    chosen_name: str


def host_picker(user: Any, f: Filters) -> HostPicker:
    hosts = visible_hosts(user)
    if f.group_id:
        hosts = hosts.filter(group_id=f.group_id)
    rows = list(hosts.values_list("pk", "name", "group__name")[: LIST_LIMIT + 1])
    if len(rows) <= LIST_LIMIT:
        return HostPicker(rows, "")
    # parse_filters has checked that the user sees the chosen host.
    chosen = visible_hosts(user).filter(pk=f.host_id).values_list("name", flat=True).first()
    return HostPicker(None, chosen or "")


def host_named(user: Any, name: str, group_id: int | None) -> int:
    """The id of the visible host called `name`. A name no visible host has is refused like an
    unknown id; one that several hosts share is narrowed to the chosen group, or asks for it
    (names are unique only by convention)."""
    hosts = visible_hosts(user).filter(name=name.strip())
    found = list(hosts.values_list("pk", flat=True)[:2])
    if len(found) > 1 and group_id:
        found = list(hosts.filter(group_id=group_id).values_list("pk", flat=True)[:2])
        if len(found) > 1:
            message = gettext("host: several hosts of this group are named %(name)s")
            raise FilterError(message % {"name": name.strip()[:200]})
    if not found:
        raise FilterError(gettext("host: no such host"))
    if len(found) > 1:
        message = gettext("host: several hosts are named %(name)s; choose their group first")
        raise FilterError(message % {"name": name.strip()[:200]})
    return found[0]


# "name (group)": how a typed host field shows its host, and what tells apart hosts of one name.
_NAME_IN_GROUP = re.compile(r"(?s)(.*) \(([^()]*)\)")


class TypedHostField(forms.ModelChoiceField):  # type: ignore[type-arg]
    """A host of `queryset` typed by name, where the hosts are too many for a <select>: the
    name alone, or "name (group)" where several hosts share the name (names are unique only by
    convention). The host already chosen is shown as "name (group)"."""

    widget = forms.TextInput
    default_error_messages = {
        "invalid_choice": gettext_lazy("no host you may choose here is named %(value)s"),
        "ambiguous": gettext_lazy("several hosts are named %(value)s: type it as “name (group)”"),
    }

    def prepare_value(self, value: Any) -> Any:
        # A bound form gives back what was typed (str); an unbound one the chosen host's id.
        if isinstance(value, str) or value in self.empty_values:
            return value
        pk = value.pk if isinstance(value, Host) else value
        host = self.queryset.filter(pk=pk).values_list("name", "group__name").first()
        return f"{host[0]} ({host[1]})" if host else ""

    def to_python(self, value: Any) -> Host | None:
        if value in self.empty_values:
            return None
        typed = str(value).strip()
        found = list(self.queryset.filter(name=typed)[:2])
        if len(found) != 1 and (match := _NAME_IN_GROUP.fullmatch(typed)):
            name, group = match.groups()
            found = list(self.queryset.filter(name=name.strip(), group__name=group.strip())[:2])
        if len(found) == 1:
            return found[0]
        code = "ambiguous" if found else "invalid_choice"
        raise ValidationError(self.error_messages[code], code=code, params={"value": typed[:200]})


def listed_or_typed(field: forms.ModelChoiceField) -> forms.Field:  # type: ignore[type-arg]
    """A form's field of hosts (its queryset already scoped to the user) as it is while there
    are at most LIST_LIMIT hosts, else a TypedHostField over the same hosts: a <select> of
    10,000 options is a megabyte of page that nobody scrolls."""
    hosts = field.queryset
    if not hosts[LIST_LIMIT : LIST_LIMIT + 1].exists():
        return field
    typed = TypedHostField(hosts, required=field.required, label=field.label)
    how = gettext_lazy("type the host's name, or “name (group)” where several hosts share it")
    typed.help_text = format_lazy("{} ({})", field.help_text, how) if field.help_text else how
    return typed
