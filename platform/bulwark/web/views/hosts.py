"""Hosts (P11 list, P8 page, "audit now") and audits (P9 page, one result's detail)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bulwark.audits import history, services
from bulwark.audits.filtersets import ResultFilterSet
from bulwark.audits.models import Audit, Result
from bulwark.inventory.access import can, scope
from bulwark.inventory.filtersets import HostFilterSet
from bulwark.inventory.models import Host, Role
from bulwark.reports import queries
from bulwark.reports.parameters import STATUSES as RESULT_STATUSES
from bulwark.reports.parameters import FilterError, default_filters, parse_filters
from bulwark.web import charts
from bulwark.web.forms import HostFilterForm
from bulwark.web.views.dashboard import bad_filter
from bulwark.web.views.exceptions import ExceptionForm
from bulwark.web.views.progress import progress_context

PAGE_SIZE = 50
RESULTS_PAGE_SIZE = 100  # an audit has about a thousand results: pages by id (keyset)


def _filter_errors(filterset: Any) -> str:
    """A FilterSet's errors as one line: `name: message` for each bad parameter."""
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in filterset.errors.items())


def _given(query: QueryDict) -> QueryDict:
    """The query without its empty values: a form's "all" choice (`status=`) filters nothing,
    as leaving the parameter out of an API call does."""
    given = QueryDict(mutable=True)
    for name, values in query.lists():
        if kept := [value for value in values if value.strip()]:
            given.setlist(name, kept)
    return given


def _key(value: str | None) -> int | None:
    """A page key from the query (`after`/`before`: a result id); anything else is no key."""
    return int(value) if value and value.isdigit() else None


@login_required
def host_list(request: HttpRequest) -> HttpResponse:
    """P11: the API's HostFilterSet narrows the hosts (same parameters, same meaning as
    /api/hosts/); the date range (`from`, `to`, `days`) and `all` choose which hosts are listed."""
    form = HostFilterForm(request.GET or None, user=request.user)
    try:
        f = parse_filters(request.GET, request.user, default_limit=10)
    except FilterError as exc:
        return bad_filter(request, exc)
    everything = form.is_bound and form.is_valid() and form.cleaned_data["all"]
    hosts = queries.host_list(request.user, f, include_never_audited=everything)
    filterset = HostFilterSet(_given(request.GET), queryset=hosts)
    if not filterset.is_valid():
        return bad_filter(request, FilterError(_filter_errors(filterset)))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/host_list.html",
        {
            "form": form,
            "page": page,
            "f": f,
            "query": query.urlencode(),
            **progress_context(request.user, group=f.group_id),
        },
    )


@login_required
def host_detail(request: HttpRequest, pk: int) -> HttpResponse:
    host = get_object_or_404(
        scope(Host.objects.select_related("group"), request.user, "group"), pk=pk
    )
    try:
        f = parse_filters(request.GET, request.user) if request.GET else default_filters(365)
    except FilterError as exc:
        return bad_filter(request, exc)
    history = queries.score_history(request.user, host.pk, f)
    audits = scope(Audit.objects.filter(host=host), request.user, "host__group")[:20]
    context = {
        "host": host,
        "f": f,
        "history_chart": charts.line_chart(
            [timezone_label(s.time) for s in history],
            {"score": [s.score for s in history]},
            top=100,
            width=1200,
            height=220,
        ),
        "audits": audits,
        "latest": next((a for a in audits if a.latest), None)
        or Audit.objects.filter(host=host, latest=True).first(),
        "can_audit": can(request.user, host.group_id, Role.OPERATOR),
        "report_query": urlencode({"host": host.pk, **f.as_query()}),
        **progress_context(request.user, host=host.pk),
    }
    return render(request, "web/host_detail.html", context)


def timezone_label(moment: object) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d")  # type: ignore[arg-type]


@login_required
@require_POST
def audit_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Start an audit of the host (operators and admins of its group)."""
    host = get_object_or_404(
        scope(Host.objects.select_related("group"), request.user, "group"), pk=pk
    )
    audits, refused = services.audit_now(request.user, Host.objects.filter(pk=host.pk))
    if refused:
        raise PermissionDenied("only operators of this group may start audits")
    (audit,) = audits
    messages.success(
        request,
        _("Audit %(id)s of %(host)s is %(status)s.")
        % {"id": audit.pk, "host": host.name, "status": audit.get_status_display()},
    )
    return redirect("web:host", pk=host.pk)


@login_required
def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    audit = get_object_or_404(
        scope(Audit.objects.select_related("host__group"), request.user, "host__group"), pk=pk
    )
    # The API's ResultFilterSet (same parameters, same meaning as /api/results/?audit=),
    # then a keyset page.
    results = queries.audit_result_rows(request.user, audit)
    filterset = ResultFilterSet(_given(request.GET), queryset=results)
    if not filterset.is_valid():
        return bad_filter(request, FilterError(_filter_errors(filterset)))
    category = request.GET.get("category", "").strip()
    status = request.GET.get("status", "").strip()
    text = request.GET.get("q", "").strip()
    summary = queries.audit_categories(request.user, audit.pk)
    after, before = _key(request.GET.get("after")), _key(request.GET.get("before"))
    page = queries.audit_results_page(
        filterset.qs, after=after, before=before, size=RESULTS_PAGE_SIZE
    )
    query = request.GET.copy()
    for key in ("after", "before"):
        query.pop(key, None)
    others = scope(
        Audit.objects.filter(host_id=audit.host_id, status="done"), request.user, "host__group"
    ).order_by("-finished_at")[:50]
    context = {
        "audit": audit,
        "host": audit.host,
        "verdicts": audit.policy_verdicts.select_related("policy"),
        "summary": summary,
        "results": page.rows,
        "page": page,
        "page_query": query.urlencode(),
        "others": others,
        "categories": sorted(c.category for c in summary),
        "statuses": RESULT_STATUSES,
        "chosen": {"category": category, "status": status, "q": text},
    }
    return render(request, "web/audit_detail.html", context)


@login_required
def result_detail(request: HttpRequest, audit_pk: int, pk: int) -> HttpResponse:
    audit = get_object_or_404(
        scope(Audit.objects.select_related("host"), request.user, "host__group"), pk=audit_pk
    )
    # An older audit's result may be a row held by a newer audit of the host (history.py):
    # shown as this audit's, which it is.
    result = get_object_or_404(
        history.results_of(audit).select_related("policy_check__policy", "exception"), pk=pk
    )
    result.audit = audit
    check = result.policy_check
    context = {
        "result": result,
        "check": check,
        "audit": result.audit,
        "host": result.audit.host,
        # Evidence is host output: shown as found (rule, file, line), auto-escaped.
        "evidence_rows": [e for e in result.evidence if isinstance(e, dict)],
        "compliance": sorted(check.compliance.items()),
        "exception": result.exception,
        "may_except": result.status == Result.Status.FAILED
        and can(request.user, result.audit.host.group_id, Role.OPERATOR),
        "exception_form": ExceptionForm(initial=ExceptionForm.initial_values()),
    }
    return render(request, "web/result_detail.html", context)
