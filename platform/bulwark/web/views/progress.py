"""Live progress: the queued and running audits a page shows, as a small JSON document that
static/web/progress.js polls (no reload needed to see an audit start, run and end)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from bulwark.audits.models import ACTIVE, Audit
from bulwark.inventory.access import scope

LIMIT = 100  # a page lists at most this many active audits (a big group audit says "and N more")


@login_required
def progress(request: HttpRequest) -> JsonResponse:
    """`?host=ID` or `?group=ID` (both optional): the active audits of your groups there."""
    audits = scope(Audit.objects.filter(status__in=ACTIVE), request.user, "host__group")
    for name, path in (("host", "host_id"), ("group", "host__group_id")):
        value = request.GET.get(name, "")
        if value:
            if not value.isdigit():
                return JsonResponse({"error": f"{name}: {value[:40]!r} is not an id"}, status=400)
            audits = audits.filter(**{path: int(value)})
    total = audits.count()
    rows = audits.select_related("host").order_by("created_at", "pk")[:LIMIT]
    return JsonResponse(
        {
            "count": total,
            "audits": [
                {
                    "id": audit.pk,
                    "host": audit.host.name,
                    "host_url": reverse("web:host", args=[audit.host_id]),
                    "status": audit.status,
                    "status_label": audit.get_status_display(),
                    "trigger": audit.get_trigger_display(),
                    "since": (audit.started_at or audit.created_at).isoformat(),
                }
                for audit in rows
            ],
        }
    )


def progress_context(user: object, *, host: int | None = None, group: int | None = None) -> dict:
    """What _progress.html needs: the first render's active audits and the URL to poll."""
    audits = scope(Audit.objects.filter(status__in=ACTIVE), user, "host__group")
    query = ""
    if host is not None:
        audits, query = audits.filter(host_id=host), f"?host={host}"
    elif group is not None:
        audits, query = audits.filter(host__group_id=group), f"?group={group}"
    return {
        "progress_url": reverse("web:progress") + query,
        "active_audits": audits.select_related("host").order_by("created_at", "pk")[:LIMIT],
    }
