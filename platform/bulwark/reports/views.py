"""GET /api/reports/<type>.<pdf|json|csv>: the seven reports for the signed-in user."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from bulwark.reports import documents, exports, pdf
from bulwark.reports.parameters import FilterError, parse_filters

CONTENT_TYPES = {"pdf": "application/pdf", "json": "application/json", "csv": "text/csv"}


def api_user(request: HttpRequest) -> Any:
    """The session's user, else the owner of an API token (`Authorization: Token ...`, the
    REST API's scheme), else None."""
    if request.user.is_authenticated:
        return request.user
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    try:
        found = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except AuthenticationFailed:
        return None
    return found[0] if found else None


@require_GET
def report(request: HttpRequest, kind: str, fmt: str) -> HttpResponse:
    """One report; 401 signed out, 404 unknown type, 400 with the reason for a bad filter."""
    user = api_user(request)
    if user is None:
        return JsonResponse({"detail": "authentication required"}, status=401)
    if kind not in documents.BUILDERS or fmt not in CONTENT_TYPES:
        return JsonResponse({"detail": "no such report"}, status=404)
    try:
        filters = parse_filters(request.GET, user)
        document = documents.build(kind, user, filters)
    except FilterError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    if fmt == "pdf":
        body = pdf.render(document)
    elif fmt == "csv":
        body = exports.to_csv(document)
    else:
        body = exports.to_json(document)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    stamp = timezone.localtime(document.generated_at).strftime("%Y%m%d-%H%M")
    disposition = "attachment" if fmt != "json" else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="bulwark-{kind}-{stamp}.{fmt}"'
    return response
