"""Exceptions from a result's page: accept a failed check (on this host or its group) and
revoke the exception that excepts it; the exceptions page: those you see (as the API's list:
your groups' and hosts', and the fleet-wide ones) by status, each with its trail, approve and
revoke. Every change goes through audits.risk_services, which checks the roles again."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bulwark.audits import risk_services
from bulwark.audits.api.risks import visible
from bulwark.audits.models import Result
from bulwark.audits.risks import RiskException
from bulwark.inventory.access import scope
from bulwark.web.views.tabs import tabs

PAGE_SIZE = 50


class ExceptionForm(forms.Form):
    """What a person states when accepting a failure."""

    scope = forms.ChoiceField(
        label=gettext_lazy("scope"),
        choices=[("host", gettext_lazy("this host")), ("group", gettext_lazy("its group"))],
    )
    justification = forms.CharField(
        label=gettext_lazy("justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    owner = forms.CharField(label=gettext_lazy("owner"), max_length=200)
    reference = forms.CharField(label=gettext_lazy("reference"), max_length=500, required=False)
    expires_at = forms.DateField(
        label=gettext_lazy("expires (last day it applies)"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    @staticmethod
    def initial_values() -> dict[str, object]:
        return {"expires_at": timezone.localdate() + dt.timedelta(days=90), "scope": "host"}


def _result(request: HttpRequest, pk: int) -> Result:
    return get_object_or_404(
        scope(
            Result.objects.select_related("policy_check__policy", "audit__host"),
            request.user,
            "audit__host__group",
        ),
        pk=pk,
    )


@login_required
@require_POST
def create_exception(request: HttpRequest, pk: int) -> HttpResponse:
    result = _result(request, pk)
    back = redirect("web:result", audit_pk=result.audit_id, pk=result.pk)
    form = ExceptionForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{form.fields[field].label}: {' '.join(errors)}")
        return back
    data = form.cleaned_data
    host = result.audit.host
    exception = RiskException(
        policy_id=result.policy_check.policy.policy_id,
        check_id=result.policy_check.check_id,
        host=host if data["scope"] == "host" else None,
        group_id=host.group_id if data["scope"] == "group" else None,
        justification=data["justification"],
        owner=data["owner"],
        reference=data["reference"],
        expires_at=data["expires_at"],
    )
    try:
        risk_services.create(request.user, exception)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return back
    except ValidationError as exc:
        for field, errors in risk_services.validation_messages(exc).items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return back
    if exception.status == RiskException.Status.PENDING:
        messages.info(
            request,
            _("Exception %(id)s awaits approval by another admin.") % {"id": exception.pk},
        )
    else:
        messages.success(
            request,
            _("Exception %(id)s applies: the host was re-scored.") % {"id": exception.pk},
        )
    return back


@login_required
@require_POST
def revoke_exception(request: HttpRequest, pk: int) -> HttpResponse:
    result = _result(request, pk)
    back = redirect("web:result", audit_pk=result.audit_id, pk=result.pk)
    exception = result.exception
    if exception is None:
        messages.error(request, _("No exception applies to this result."))
        return back
    try:
        done = risk_services.revoke(request.user, exception, "revoked from the result page")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return back
    messages.success(
        request,
        _("Exception %(id)s revoked.") % {"id": exception.pk} if done else _("Already ended."),
    )
    return back


# -- the exceptions page: list (scoped, by status), one exception with its trail -----------------

STATUS_CHOICES = [("", gettext_lazy("any")), *RiskException.Status.choices]


class ExceptionFilter(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=STATUS_CHOICES, required=False)


@login_required
def exception_list(request: HttpRequest) -> HttpResponse:
    rows = visible(request.user).select_related("host", "group", "created_by").order_by("-pk")
    chosen = ExceptionFilter(request.GET or None)
    status = chosen.cleaned_data["status"] if chosen.is_valid() else ""
    if status:
        rows = rows.filter(status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/exception_list.html",
        {"page": page, "filter": chosen, "status": status, **tabs("exceptions")},
    )


@login_required
def exception_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exception = _visible_exception(request, pk)
    user = request.user
    own = exception.created_by_id is not None and exception.created_by_id == user.pk
    open_ = exception.status in (RiskException.Status.PENDING, RiskException.Status.ACTIVE)
    context = {
        "exception": exception,
        "events": exception.events.select_related("user"),
        # Offered as the services allow them (they check again on POST).
        "may_approve": exception.status == RiskException.Status.PENDING
        and not own
        and risk_services.may_decide(user, exception),
        "may_revoke": open_
        and (
            risk_services.may_decide(user, exception)
            or (own and risk_services.may_request(user, exception))
        ),
        **tabs("exceptions"),
    }
    return render(request, "web/exception_detail.html", context)


@login_required
@require_POST
def approve_exception(request: HttpRequest, pk: int) -> HttpResponse:
    exception = _visible_exception(request, pk)
    try:
        done = risk_services.approve(request.user, exception)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("web:exception", exception.pk)
    if done:
        approved = _("Exception %(pk)s approved: it applies now.")
        messages.success(request, approved % {"pk": exception.pk})
    else:
        messages.info(request, _("Only a pending exception can be approved."))
    return redirect("web:exception", exception.pk)


@login_required
@require_POST
def revoke_from_list(request: HttpRequest, pk: int) -> HttpResponse:
    exception = _visible_exception(request, pk)
    note = request.POST.get("note", "")[:1000]
    try:
        done = risk_services.revoke(request.user, exception, note)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("web:exception", exception.pk)
    if done:
        messages.success(request, _("Exception %(pk)s revoked.") % {"pk": exception.pk})
    else:
        messages.info(request, _("Only a pending or active exception can be revoked."))
    return redirect("web:exception", exception.pk)


def _visible_exception(request: HttpRequest, pk: int) -> RiskException:
    return get_object_or_404(
        visible(request.user).select_related("host", "group", "created_by", "approved_by"), pk=pk
    )
