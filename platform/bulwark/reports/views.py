"""GET /api/reports/<type>.<pdf|json|csv>: the seven reports for the signed-in user.

A DRF view, so the API's authentication (token or session), permissions and throttling apply
and the endpoint is in the OpenAPI schema; the URL's suffix picks the format.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from bulwark.core.api import SuffixNegotiation
from bulwark.reports import documents, exports, pdf
from bulwark.reports.parameters import FilterError, parse_filters

CONTENT_TYPES = {"pdf": "application/pdf", "json": "application/json", "csv": "text/csv"}


def _query(name: str, kind: type, description: str, **more: bool) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description, **more)


class ReportView(APIView):
    """One report as PDF, JSON or CSV; 401 signed out, 404 unknown type, 400 naming a bad
    filter."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = SuffixNegotiation

    @extend_schema(
        operation_id="report",
        parameters=[
            OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=sorted(documents.BUILDERS)),
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=sorted(CONTENT_TYPES)),
            _query("group", int, "only this group's hosts"),
            _query("host", int, "only this host (host-checks, evolution)"),
            _query("date_after", OpenApiTypes.DATE, "first day (YYYY-MM-DD, inclusive)"),
            _query(
                "date_before", OpenApiTypes.DATE, "last day (YYYY-MM-DD, inclusive; default today)"
            ),
            _query("days", int, "days back from `date_before` when `date_after` is not given"),
            # The older names, kept for the clients that use them (docs/filters.md).
            _query("from", OpenApiTypes.DATE, "older name of `date_after`", deprecated=True),
            _query("to", OpenApiTypes.DATE, "older name of `date_before`", deprecated=True),
            _query("limit", int, "rows in ranked reports"),
            _query("category", str, "a CIS Controls v8 category"),
            _query("status", str, "a result status"),
        ],
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.BINARY),
            400: OpenApiResponse(description="a filter is invalid; `detail` names it"),
            404: OpenApiResponse(description="no such report"),
        },
    )
    def get(self, request: Request, kind: str, fmt: str) -> HttpResponse:
        if kind not in documents.BUILDERS or fmt not in CONTENT_TYPES:
            raise NotFound("no such report")
        try:
            filters = parse_filters(request.query_params, request.user)
            document = documents.build(kind, request.user, filters)
        except FilterError as exc:
            raise ParseError(str(exc)) from None
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
