"""API views of audits: read audits, results, alerts and history of your groups; schedules
(admins); "audit now" on a host or a group (operators); acknowledging alerts (operators)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from bulwark.audits import filtersets, history
from bulwark.audits.api import serializers
from bulwark.audits.models import AlertEvent, Audit, Result, Schedule, ScoreSample
from bulwark.audits.result_scope import scope_results
from bulwark.audits.services import acknowledge_alerts, audit_now
from bulwark.core.api import KeysetPagination
from bulwark.inventory.access import group_id_of, scope
from bulwark.inventory.api.base import GroupRolePermission, ScopedViewSet
from bulwark.inventory.models import Group, Host, Role


class ScopedReadOnlyViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Read-only rows of the user's groups (reached through `group_path`)."""

    group_path: ClassVar[str | tuple[str, ...]] = "host__group"
    permission_classes = [GroupRolePermission]

    def get_queryset(self) -> QuerySet[Any]:
        return scope(super().get_queryset(), self.request.user, self.group_path)

    def group_of(self, obj: Model) -> int | None:
        return group_id_of(obj, self.group_path)


class AuditViewSet(ScopedReadOnlyViewSet):
    """Audits of your groups' hosts, each with its counts, score and category summary."""

    queryset = Audit.objects.select_related("host", "requested_by").prefetch_related("categories")
    serializer_class = serializers.AuditSerializer
    filterset_class = filtersets.AuditFilterSet
    ordering_fields = ["created_at", "finished_at", "score", "id"]


class ResultViewSet(ScopedReadOnlyViewSet):
    """Check results (P9): filter by audit, host, date range (`date_after`, `date_before`),
    `check_id`, `title`, `category`, `status`; the detail adds the check's text. Paged by
    cursor (`?limit=`, then follow `next`), in id order (`?ordering=-id` for newest first).
    Without `?audit=`, the results of audits kept in full: each host's latest audit (older
    audits are stored as their changes, docs/history.md); `?audit=` gives any audit's whole
    results, an older one's rebuilt, each row naming that audit."""

    queryset = Result.objects.select_related(
        "audit", "policy_check", "policy_check__policy", "exception"
    )
    filterset_class = filtersets.ResultFilterSet
    group_path = "audit__host__group"
    # Keyset pages need a unique, indexed order: the id (an audit's results in check order).
    pagination_class = KeysetPagination
    ordering_fields = ["id"]

    # A list row reads only these columns: the rest (the audit's host facts, the check's texts
    # and rules, the policy's whole YAML source) is large and would be loaded for every row.
    list_columns = (
        *("id", "audit_id", "policy_check_id", "status", "reason", "evidence"),
        *("audit__id", "audit__host_id", "audit__finished_at"),
        *("policy_check__id", "policy_check__policy_id", "policy_check__check_id"),
        *("policy_check__title", "policy_check__category", "policy_check__level"),
        *("policy_check__policy__id", "policy_check__policy__policy_id"),
        *("exception_id", "exception__id", "exception__justification", "exception__owner"),
        *("exception__reference", "exception__expires_at"),
    )

    def get_queryset(self) -> QuerySet[Any]:
        # The list is the results of audits kept in full: each host's latest (and any audit
        # whose reduction is pending), every one of their results. An older audit holds only
        # its changes (docs/history.md): it is read whole, one audit at a time, with ?audit=
        # (filtersets.py rebuilds it); listed with the others it would miss its unchanged
        # checks. A row's detail is any stored row, each a true result of its audit.
        # Scoped by the audit (a semi-join) rather than by joins through audit and host for
        # every row: the same rows, and counts that read the (audit, id) index only.
        rows = scope_results(self.queryset.all(), self.request.user)
        queryset = rows.exclude(status=history.ABSENT)
        if self.action != "list":
            return queryset
        if "audit" not in self.request.query_params:
            queryset = queryset.filter(audit__results_reduced=False)
        return queryset.only(*self.list_columns)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "retrieve":
            return serializers.ResultDetailSerializer
        return serializers.ResultSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """ResultSerializer's JSON, built from values() rows (serializers.result_rows): a
        page of 300 results without a model instance or a serializer field per value."""
        queryset = self.filter_queryset(self.get_queryset())
        columns = list(serializers.RESULT_ROW_COLUMNS)
        if "as_of" in queryset.query.annotations:  # ?audit=: the time is that audit's
            columns += ["as_of", "as_of_finished"]
            columns.remove("audit__finished_at")
        rows = queryset.values(*columns)
        page = self.paginate_queryset(rows)
        if page is None:
            return Response(serializers.result_rows(rows))
        return self.get_paginated_response(serializers.result_rows(page))


class ScoreSampleViewSet(ScopedReadOnlyViewSet):
    """Each host's failed / not applied / passed / score at every audit (P6, P7)."""

    queryset = ScoreSample.objects.all()
    serializer_class = serializers.ScoreSampleSerializer
    filterset_class = filtersets.ScoreSampleFilterSet
    ordering_fields = ["time", "score"]


class AlertViewSet(ScopedReadOnlyViewSet):
    """Alerts of your groups' hosts; operators acknowledge them."""

    queryset = AlertEvent.objects.select_related("host")
    serializer_class = serializers.AlertSerializer
    filterset_class = filtersets.AlertFilterSet
    ordering_fields = ["created_at", "severity"]
    action_roles: ClassVar[dict[str, Role]] = {"acknowledge": Role.OPERATOR}

    @extend_schema(request=None, responses=serializers.AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Mark the alert as seen (once; later calls keep the first time)."""
        alert = self.get_object()
        acknowledge_alerts(AlertEvent.objects.filter(pk=alert.pk))
        alert.refresh_from_db()
        return Response(self.get_serializer(alert).data)


class ScheduleViewSet(ScopedViewSet):
    """Periodic audits of a host or a group (P3); admins of the group manage them."""

    queryset = Schedule.objects.select_related("host")
    serializer_class = serializers.ScheduleSerializer
    filterset_class = filtersets.ScheduleFilterSet
    group_path = ("host__group", "group")
    ordering_fields = ["id", "interval_days"]


class _StartAudits(APIView):
    """Shared by the host and the group "audit now" endpoints."""

    permission_classes = [IsAuthenticated]

    def start(self, request: Request, hosts: QuerySet[Host]) -> Response:
        options = serializers.StartAuditSerializer(data=request.data or {})
        options.is_valid(raise_exception=True)
        audits, refused = audit_now(
            request.user,
            hosts,
            trigger=Audit.Trigger.API,
            command_timeout=options.validated_data.get("command_timeout"),
        )
        if refused:  # the hosts of one group share its roles: none of them was started
            raise PermissionDenied("starting audits needs the operator or admin role")
        # In-process (embedded) mode has already run them: report their current state.
        fresh = Audit.objects.filter(pk__in=[a.pk for a in audits]).select_related("host")
        body = serializers.AuditSerializer(fresh.prefetch_related("categories"), many=True).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class HostAuditView(_StartAudits):
    """POST: audit this host now (operators). 404 for hosts outside your groups."""

    @extend_schema(
        request=serializers.StartAuditSerializer,
        responses={202: serializers.AuditSerializer(many=True)},
    )
    def post(self, request: Request, pk: int) -> Response:
        host = get_object_or_404(scope(Host.objects.all(), request.user, "group"), pk=pk)
        return self.start(request, Host.objects.filter(pk=host.pk))


class GroupAuditView(_StartAudits):
    """POST: audit every host of this group now (operators)."""

    @extend_schema(
        request=serializers.StartAuditSerializer,
        responses={202: serializers.AuditSerializer(many=True)},
    )
    def post(self, request: Request, pk: int) -> Response:
        group = get_object_or_404(scope(Group.objects.all(), request.user, "pk"), pk=pk)
        return self.start(request, Host.objects.filter(group=group).order_by("pk"))
