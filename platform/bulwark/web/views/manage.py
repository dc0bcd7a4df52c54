"""The operator's pages for hosts, credentials and schedules: list, add, edit, delete.

The same rules as the API, through the same code (bulwark.inventory.access): you see the rows
of your groups (another group's row is a 404), and change them as an admin of their group;
validation is the model's own clean(). Hosts also get "test connection" and key pinning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, ProtectedError, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from bulwark.audits.models import Schedule
from bulwark.audits.schedules import next_run
from bulwark.inventory import bindings
from bulwark.inventory.access import can, group_id_of, scope, visible_group_ids
from bulwark.inventory.models import Credential, Host, Role
from bulwark.web import manage_forms


@dataclass(frozen=True)
class Kind:
    """One kind of row the pages manage."""

    title: str
    model: type[Model]
    form: type[forms.ModelForm]  # type: ignore[type-arg]
    group_path: str | tuple[str, ...]
    columns: tuple[str, ...]
    related: tuple[str, ...] = ()
    named_by: tuple[str, ...] = ("name",)  # what the list's name filter looks in


KINDS = {
    "hosts": Kind(
        gettext_noop("Hosts"),
        Host,
        manage_forms.HostForm,
        "group",
        ("name", "group", "transport", "address", "port", "credential"),
        ("group", "credential"),
    ),
    "credentials": Kind(
        gettext_noop("Credentials"),
        Credential,
        manage_forms.CredentialPageForm,
        "group",
        ("name", "group", "kind", "username", "sudo_mode"),
        ("group",),
    ),
    "schedules": Kind(
        gettext_noop("Schedules"),
        Schedule,
        manage_forms.ScheduleForm,
        ("host__group", "group"),
        ("host", "group", "interval_days", "enabled"),
        ("host", "group", "periodic_task__interval"),
        ("host__name", "group__name"),
    ),
}
PAGE_SIZE = 50


def _kind(name: str) -> Kind:
    if name not in KINDS:
        raise Http404("no such list")
    return KINDS[name]


def _rows(kind: Kind, user: Any) -> QuerySet[Any]:
    return scope(kind.model.objects.select_related(*kind.related), user, kind.group_path)


def _cell(row: Model, column: str) -> Any:
    display = getattr(row, f"get_{column}_display", None)
    value = display() if display else getattr(row, column)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return value


def _editable(kind: Kind, user: Any, pk: int) -> Model:
    """The row if the user may change it: 404 if not visible, 403 if not an admin there."""
    row = get_object_or_404(_rows(kind, user), pk=pk)
    group = group_id_of(row, kind.group_path)
    if group is None or not can(user, group, Role.ADMIN):
        raise PermissionDenied("only admins of this group change it")
    return row


def _named(rows: QuerySet[Any], kind: Kind, text: str) -> QuerySet[Any]:
    """The rows whose name (a schedule: its host's or group's) contains `text`."""
    match = Q()
    for path in kind.named_by:
        match |= Q(**{f"{path}__icontains": text})
    return rows.filter(match)


@login_required
def manage_list(request: HttpRequest, kind_name: str) -> HttpResponse:
    """A page of the rows at a time, oldest first, narrowed by name (`q`): a fleet of 10,000
    hosts is 200 pages, each as quick as the first."""
    kind = _kind(kind_name)
    listed = _rows(kind, request.user)
    name = request.GET.get("q", "").strip()[:200]
    if name:
        listed = _named(listed, kind, name)
    page = Paginator(listed.order_by("pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for row in page:
        cells = [_cell(row, column) for column in kind.columns]
        extra = {}
        if isinstance(row, Schedule):
            extra = {
                "next_run": next_run(row),
                "last_run": row.periodic_task.last_run_at if row.periodic_task else None,
            }
        rows.append({"row": row, "cells": cells, **extra})
    admin_groups = visible_group_ids(request.user, at_least=Role.ADMIN)
    context = {
        "kind": kind,
        "kind_name": kind_name,
        "kinds": KINDS,
        "rows": rows,
        "page": page,
        "name": name,
        "query": urlencode({"q": name}) if name else "",
        "columns": [kind.model._meta.get_field(c).verbose_name for c in kind.columns],
        "can_add": admin_groups is None or admin_groups.exists(),
    }
    return render(request, "web/manage_list.html", context)


@login_required
def manage_edit(request: HttpRequest, kind_name: str, pk: int | None = None) -> HttpResponse:
    kind = _kind(kind_name)
    row = _editable(kind, request.user, pk) if pk is not None else None
    if row is None and not can_add(request.user):
        raise PermissionDenied("you are an admin of no group")
    form = kind.form(request.POST or None, instance=row, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("%(row)s saved.") % {"row": saved})
        if isinstance(saved, Host):
            _confirm_credential(request, form, saved)
        return redirect("web:manage", kind_name)
    context = {"kind": kind, "kind_name": kind_name, "form": form, "row": row, "kinds": KINDS}
    if isinstance(row, Host):
        context["seen_key"] = request.session.get(_seen_key(row.pk), "")
    return render(request, "web/manage_form.html", context)


def _field_label(form: Any, name: str) -> str:
    """A model field's error under the label of the form field that asked for it."""
    field = form.fields.get(f"confirm_{name}") or form.fields.get(name)
    return str(field.label) if field is not None and field.label else name


def _confirm_credential(request: HttpRequest, form: Any, host: Host) -> None:
    """Bind the host's credential when its secrets were re-entered; say so when it is unbound."""
    given = form.confirmation()
    if given and host.credential_id:
        try:
            bindings.confirm_with_secrets(host, request.user, given)
        except ValidationError as exc:
            problems = "; ".join(
                f"{_field_label(form, k)}: {' '.join(v)}" for k, v in exc.message_dict.items()
            )
            messages.error(request, _("Credential not confirmed: %(why)s") % {"why": problems})
            return
    if not bindings.is_bound(host):
        messages.warning(
            request,
            _(
                "%(host)s cannot be audited yet: re-enter its credential's secrets on this "
                "form to confirm that they may be sent to where it points."
            )
            % {"host": host.name},
        )


def can_add(user: Any) -> bool:
    groups = visible_group_ids(user, at_least=Role.ADMIN)
    return groups is None or groups.exists()


@login_required
@require_POST
def manage_delete(request: HttpRequest, kind_name: str, pk: int) -> HttpResponse:
    kind = _kind(kind_name)
    row = _editable(kind, request.user, pk)
    try:
        row.delete()
    except ProtectedError as exc:
        used_by = ", ".join(sorted({str(o) for o in exc.protected_objects})[:5])
        messages.error(
            request,
            _("%(row)s is still used by %(users)s: change those first.")
            % {"row": row, "users": used_by},
        )
        return redirect("web:manage-edit", kind_name, pk)
    messages.success(request, _("%(row)s deleted.") % {"row": row})
    return redirect("web:manage", kind_name)


# -- hosts: test the connection, pin the key it showed -------------------------------------------


def _connection_section(host: Host) -> HttpResponse:
    """Back to the host's form, scrolled to the key it presented (and the button to pin it)."""
    url = reverse("web:manage-edit", args=["hosts", host.pk])
    return HttpResponseRedirect(f"{url}#connection")


def _seen_key(pk: int) -> str:
    return f"bulwark-seen-key-{pk}"


@login_required
@require_POST
def test_connection(request: HttpRequest, pk: int) -> HttpResponse:
    from bulwark.audits.reasons import kind_of, translated
    from bulwark.inventory.connections import ConnectionRefused
    from bulwark.inventory.services import check_connection

    host = _editable(KINDS["hosts"], request.user, pk)
    assert isinstance(host, Host)
    outcome = check_connection(host)
    # The key shown is kept server-side: "pin" stores exactly what was seen, nothing posted.
    request.session[_seen_key(host.pk)] = outcome.seen_key or ""
    if outcome.error is None:
        messages.success(request, outcome.message)
    else:
        # The kind in the reader's language; the detail (where, what was tried) as found,
        # but for the inventory's own refusals, which are our words and translated.
        detail = outcome.message
        if isinstance(outcome.error, ConnectionRefused):
            detail = translated(str(outcome.error))
        messages.error(
            request,
            _("%(host)s: %(kind)s. Details: %(detail)s")
            % {"host": host.name, "kind": kind_of(outcome.error), "detail": detail},
        )
    return _connection_section(host)


@login_required
@require_POST
def pin_key(request: HttpRequest, pk: int) -> HttpResponse:
    from bulwark.inventory.services import pin_host_key

    host = _editable(KINDS["hosts"], request.user, pk)
    assert isinstance(host, Host)
    seen = request.session.get(_seen_key(host.pk), "")  # kept: the page then says "pinned"
    if not seen:
        messages.error(request, _("Test the connection first: it shows the key to pin."))
    else:
        pin_host_key(host, seen, by=request.user)
        messages.success(request, _("Host key of %(host)s pinned.") % {"host": host.name})
    return _connection_section(host)
