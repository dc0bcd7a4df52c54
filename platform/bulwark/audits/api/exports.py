"""GET .../export.{junit,sarif,oscal,html}: an audit, a host's latest audit, or a group's
latest audits as a standard document, for members of the group (others get a 404).

DRF views, so the API's authentication and throttling apply; content negotiation is not used
(the suffix names the format), so a client's Accept header never turns an export into a 406.
`?document=plan` on an OSCAL export gives the matching assessment plan.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from bulwark.audits.exports import audit_run, group_run
from bulwark.audits.models import Audit
from bulwark.core.api import SuffixNegotiation
from bulwark.inventory.access import scope
from bulwark.inventory.models import Group, Host
from workers import exports
from workers.exports import htmlpage
from workers.exports.model import Run
from workers.exports.oscal import render_plan

KINDS = ("junit", "sarif", "oscal", "html")
KIND_PATTERN = "|".join(KINDS)


def document_response(run: Run, kind: str, stem: str, request: Request) -> HttpResponse:
    plan = kind == "oscal" and request.query_params.get("document") == "plan"
    body = render_plan(run) if plan else exports.render(kind, run)
    response = HttpResponse(body, content_type=exports.MEDIA_TYPES[kind])
    suffix = ".oscal-ap.json" if plan else exports.SUFFIXES[kind]
    disposition = "inline" if kind == "html" else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{stem}{suffix}"'
    if kind == "html":
        # The page carries its own policy too; the header also covers browsers that open it here.
        response["Content-Security-Policy"] = htmlpage.content_security_policy()
        response["X-Content-Type-Options"] = "nosniff"
    return response


_SCHEMA = extend_schema(
    parameters=[
        OpenApiParameter(
            "kind", str, OpenApiParameter.PATH, enum=list(KINDS), description="export format"
        ),
        OpenApiParameter(
            "document",
            str,
            OpenApiParameter.QUERY,
            enum=["plan"],
            required=False,
            description="oscal only: the assessment plan instead of the assessment results",
        ),
    ],
    responses={
        (200, "application/xml"): OpenApiResponse(OpenApiTypes.BINARY, description="JUnit XML"),
        (200, "application/sarif+json"): OpenApiResponse(OpenApiTypes.OBJECT, description="SARIF"),
        (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="OSCAL"),
        (200, "text/html"): OpenApiResponse(OpenApiTypes.BINARY, description="HTML page"),
        404: OpenApiResponse(description="not found, or not in your groups"),
    },
)


class _ExportView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = SuffixNegotiation


class AuditExportView(_ExportView):
    """One audit as JUnit XML, SARIF 2.1.0, OSCAL assessment results or a self-contained page."""

    @_SCHEMA
    def get(self, request: Request, pk: int, kind: str) -> HttpResponse:
        audits = scope(Audit.objects.select_related("host"), request.user, "host__group")
        audit = get_object_or_404(audits, pk=pk)
        return document_response(audit_run(audit), kind, f"audit-{audit.pk}", request)


class HostExportView(_ExportView):
    """The host's latest finished audit (404 when it has none)."""

    @_SCHEMA
    def get(self, request: Request, pk: int, kind: str) -> HttpResponse:
        host = get_object_or_404(scope(Host.objects.all(), request.user, "group"), pk=pk)
        audits = Audit.objects.select_related("host").filter(host=host, latest=True)
        audit = get_object_or_404(audits)
        return document_response(audit_run(audit), kind, f"host-{host.pk}-latest", request)


class GroupExportView(_ExportView):
    """The latest finished audit of every host of the group; hosts never audited are listed as
    not audited."""

    @_SCHEMA
    def get(self, request: Request, pk: int, kind: str) -> HttpResponse:
        group = get_object_or_404(scope(Group.objects.all(), request.user, "pk"), pk=pk)
        hosts = list(Host.objects.filter(group=group).order_by("name"))
        run = group_run(f"Bulwark: latest audits of group {group.name}", hosts)
        return document_response(run, kind, f"group-{group.pk}-latest", request)
