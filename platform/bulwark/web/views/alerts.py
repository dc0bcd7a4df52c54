"""The alerts page: the alerts of your groups, filtered with the API's AlertFilterSet, and
"acknowledge" for operators (the same service as POST /api/alerts/{id}/acknowledge/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bulwark.audits.filtersets import AlertFilterSet
from bulwark.audits.models import AlertEvent
from bulwark.audits.services import acknowledge_alerts
from bulwark.inventory.access import can, scope, visible_group_ids
from bulwark.inventory.models import Role
from bulwark.web.forms import as_picked_on_a_page

PAGE_SIZE = 50


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    alerts = scope(AlertEvent.objects.select_related("host__group"), request.user, "host__group")
    filterset = AlertFilterSet(request.GET or None, queryset=alerts.order_by("-created_at", "-pk"))
    as_picked_on_a_page(filterset.form, request.user)
    # Unbound (no filter given): every alert; a bad filter: none, with its errors on the form.
    rows = filterset.qs if not filterset.is_bound or filterset.is_valid() else alerts.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    operator_groups = visible_group_ids(request.user, at_least=Role.OPERATOR)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filterset": filterset,
        "page": page,
        "query": query.urlencode(),
        # None: every group (superuser); otherwise the ids where "acknowledge" is offered.
        "ack_groups": None if operator_groups is None else set(operator_groups),
    }
    return render(request, "web/alert_list.html", context)


@login_required
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(
        scope(AlertEvent.objects.select_related("host"), request.user, "host__group"), pk=pk
    )
    if not can(request.user, alert.host.group_id, Role.OPERATOR):
        raise PermissionDenied("only operators of this group acknowledge its alerts")
    if acknowledge_alerts(AlertEvent.objects.filter(pk=alert.pk)):
        messages.success(request, _("Alert on %(host)s acknowledged.") % {"host": alert.host.name})
    else:
        messages.info(request, _("That alert was already acknowledged."))
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/alerts/") else "web:alerts")
