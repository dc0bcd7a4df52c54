"""The security dashboard (P10) with the user's widgets (P19), and the report picker."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from bulwark.reports import queries
from bulwark.reports.parameters import FilterError, parse_filters
from bulwark.web import charts, widgets
from bulwark.web.forms import ReportForm, WidgetForm, category_names, visible_groups
from bulwark.web.host_picker import host_named, host_picker
from bulwark.web.models import Widget
from bulwark.web.views.progress import progress_context


def bad_filter(request: HttpRequest, error: FilterError) -> HttpResponse:
    return render(request, "web/error.html", {"message": str(error)}, status=400)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """P10 for the user's groups, narrowed by group, host, category and days: the reports'
    filters (parse_filters, as /api/reports/ reads them), so a figure here is the one the
    matching report gives."""
    try:
        f = parse_filters(request.GET, request.user)
        if request.GET.get("host_name", "").strip():  # the typed host of a large fleet
            query = request.GET.copy()
            query["host"] = str(host_named(request.user, query.pop("host_name")[0], f.group_id))
            return redirect(f"{reverse('web:dashboard')}?{query.urlencode()}")
    except FilterError as exc:
        return bad_filter(request, exc)
    data = queries.overview(request.user, f)
    labels = [p.day.isoformat() for p in data.evolution]
    context = {
        "f": f,
        "data": data,
        "groups": visible_groups(request.user).queryset,
        # The host and category lists offer only what the user sees (a host of another group
        # given by hand is refused by parse_filters, like one that does not exist).
        "host_picker": host_picker(request.user, f),
        "categories": category_names(),
        "timeline": charts.line_chart(
            labels,
            {
                "passed": [p.passed for p in data.evolution],
                "failed": [p.failed for p in data.evolution],
            },
            width=1200,
            height=220,
        ),
        "group_chart": charts.bar_chart(
            [g.name for g in data.groups if g.average is not None],
            [g.average or 0 for g in data.groups if g.average is not None],
            top=100,
        ),
        "category_chart": charts.bar_chart(
            [c.category for c in data.categories[:10]],
            [c.failed for c in data.categories[:10]],
            colour=charts.COLOURS["failed"],
        ),
        "widgets": [
            widgets.render(w, request.user) for w in Widget.objects.filter(user=request.user)
        ],
        "query": urlencode(f.as_query()),
        **progress_context(request.user, group=f.group_id),
    }
    return render(request, "web/dashboard.html", context)


@login_required
def widget_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Add (pk None) or edit one of the user's widgets; another user's is a 404."""
    widget = get_object_or_404(Widget, pk=pk, user=request.user) if pk else None
    form = WidgetForm(request.POST or None, instance=widget, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.user = request.user
        saved.save()
        return redirect("web:dashboard")
    return render(request, "web/widget_form.html", {"form": form, "widget": widget})


@login_required
@require_POST
def widget_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(Widget, pk=pk, user=request.user).delete()
    return redirect("web:dashboard")


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """The report picker; a valid submission redirects to /api/reports/<type>.<format>."""
    form = ReportForm(request.GET or None, user=request.user)
    if request.GET and form.is_valid():
        data = form.cleaned_data
        query = {
            "group": data["group"].pk if data["group"] else "",
            "date_after": data["date_after"].isoformat() if data["date_after"] else "",
            "date_before": data["date_before"].isoformat() if data["date_before"] else "",
            "limit": data["limit"] or "",
            "category": data["category"],
            "host": data["host"].pk if data["host"] else "",
            "status": data["status"],
            "page": data["page"] or "",
            "na": "0" if data["type"] == "category" and not data["not_applicable"] else "",
        }
        url = reverse("report", kwargs={"kind": data["type"], "fmt": data["format"]})
        return HttpResponseRedirect(f"{url}?{urlencode({k: v for k, v in query.items() if v})}")
    return render(request, "web/reports.html", {"form": form})
