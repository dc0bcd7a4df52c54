"""GET /api/hosts/{id}/remediation.{sh,yml,ps1}: the script (or playbook) that fixes the failed
checks of the host's latest audit that carry a fix. Served for review; never run by Bulwark.

The steps come from the `fix:` keys of the failed checks' policies (workers/remediation/); only
`failed` results count, so excepted or not applicable checks never get a step.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from bulwark.audits.models import Audit, Result
from bulwark.core.api import SuffixNegotiation
from bulwark.inventory.access import scope
from bulwark.inventory.models import Host
from bulwark.policies.models import Policy
from workers.engine.definitions import CheckDefinition, Condition, Dialect, PolicyDefinition
from workers.engine.policy import load_policy_text
from workers.remediation import playbook, powershell, shell
from workers.remediation.plan import make_plan

FORMATS = {
    "sh": "text/x-shellscript; charset=utf-8",
    "yml": "application/yaml; charset=utf-8",
    "ps1": "text/plain; charset=utf-8",
}
FORMAT_PATTERN = "|".join(FORMATS)


def definitions(policies: set[Policy]) -> list[PolicyDefinition]:
    """The policies of the failed checks, parsed from their stored source (where `fix:` lives).
    A policy whose source cannot be read (none stored) still lists its checks, without fixes,
    so the script says they failed rather than leaving them out."""
    found = []
    for policy in sorted(policies, key=lambda p: p.policy_id):
        loaded = load_policy_text(policy.source, policy.path) if policy.source else None
        if loaded is not None and loaded.policy is not None:
            found.append(loaded.policy)
            continue
        checks = tuple(
            CheckDefinition(
                id=check.check_id,
                title=check.title,
                condition=Condition.ALL,
                rules=(),
                compliance={k: tuple(v) for k, v in (check.compliance or {}).items()},
            )
            for check in policy.checks.order_by("line", "pk")
        )
        found.append(
            PolicyDefinition(
                id=policy.policy_id,
                name=policy.name,
                description=policy.description,
                path=policy.path,
                dialect=Dialect.W4,
                checks=checks,
            )
        )
    return found


class HostRemediationView(APIView):
    """The remediation of a host's latest finished audit: a POSIX shell script (`--check` is
    its dry run), an Ansible playbook, or a PowerShell script (`-Check`). 404 when the host
    has no finished audit or is outside your groups."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = SuffixNegotiation

    @extend_schema(
        operation_id="host_remediation",
        parameters=[
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(FORMATS)),
        ],
        responses={
            (200, "text/x-shellscript"): OpenApiResponse(OpenApiTypes.STR),
            (200, "application/yaml"): OpenApiResponse(
                {"type": "array", "items": {"type": "object"}}, description="Ansible playbook"
            ),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR),
            404: OpenApiResponse(description="no such host, or no finished audit"),
        },
    )
    def get(self, request: Request, pk: int, fmt: str) -> HttpResponse:
        host = get_object_or_404(scope(Host.objects.all(), request.user, "group"), pk=pk)
        audit = get_object_or_404(Audit.objects.filter(host=host, latest=True))
        rows = Result.objects.filter(audit=audit, status="failed").select_related(
            "policy_check__policy"
        )
        failed = {(r.policy_check.policy.policy_id, r.policy_check.check_id) for r in rows}
        plan = make_plan(host.name, failed, definitions({r.policy_check.policy for r in rows}))
        name = f"host-{host.pk}-remediation.{fmt}"
        if fmt == "sh":
            text = shell.render(plan, name)
        elif fmt == "yml":
            text = playbook.render(plan)
        else:
            text = powershell.render(plan)
        response = HttpResponse(text.encode("utf-8"), content_type=FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
