"""API of assignments (which policies, levels and profile apply to a group or a host) and of
the policy-level verdicts of audits."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.views import APIView

from bulwark.audits import assignment_services
from bulwark.audits.targets import Assignment, PolicyVerdict
from bulwark.core.api import ValidatedModelSerializer, as_drf_error
from bulwark.inventory.access import group_id_of, is_unrestricted, scope
from bulwark.inventory.api.base import GroupRolePermission, ScopedRelatedFields, ScopedViewSet


class AssignmentSerializer(ScopedRelatedFields, ValidatedModelSerializer):
    """{"policy": id, "group": id | "host": id | neither (a default, superusers), "levels":
    [1] | [1, 2], "profile": "server" | "workstation" | null}."""

    scoped_fields = {"host": "group", "group": "pk"}
    levels = serializers.ListField(child=serializers.IntegerField(), required=False)
    policy_id = serializers.CharField(source="policy.policy_id", read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "policy", "policy_id", "group", "host", "levels", "profile", "created_at"]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        group = attrs.get("group", getattr(self.instance, "group", None))
        host = attrs.get("host", getattr(self.instance, "host", None))
        if group is None and host is None and not is_unrestricted(getattr(request, "user", None)):
            raise PermissionDenied("only superusers set the defaults (no group and no host)")
        return super().validate(attrs)


class _AssignmentPermission(GroupRolePermission):
    """Defaults (no group, no host) are read by all and changed by superusers only."""

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if obj.group_id is None and obj.host_id is None:
            return request.method in ("GET", "HEAD", "OPTIONS") or is_unrestricted(request.user)
        return super().has_object_permission(request, view, obj)


class AssignmentViewSet(ScopedViewSet):
    """Assignments of your groups and their hosts, and the defaults; group admins manage
    their group's. A change re-scores the hosts it reaches at once, from stored results
    (audits/assignment_services.py); a widened scope marks them "needs re-audit"."""

    queryset = Assignment.objects.select_related("policy", "host", "group")
    serializer_class = AssignmentSerializer
    group_path = ("host__group", "group")
    permission_classes = [_AssignmentPermission]
    ordering_fields = ["id", "policy"]
    filterset_fields = ["policy", "group", "host"]

    def get_queryset(self) -> QuerySet[Any]:
        defaults = Assignment.objects.filter(group__isnull=True, host__isnull=True)
        return (super().get_queryset() | defaults).select_related("policy", "host", "group")

    def perform_create(self, serializer: Any) -> None:
        assignment = Assignment(**serializer.validated_data)
        _through_service(assignment_services.save, self.request.user, assignment)
        serializer.instance = assignment

    def perform_update(self, serializer: Any) -> None:
        assignment = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(assignment, name, value)
        _through_service(assignment_services.save, self.request.user, assignment)

    def perform_destroy(self, instance: Assignment) -> None:
        _through_service(assignment_services.delete, self.request.user, instance)


def _through_service(change: Any, user: Any, assignment: Assignment) -> None:
    try:
        change(user, assignment)
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc)) from None
    except DjangoValidationError as exc:
        raise as_drf_error(exc) from None


class PolicyVerdictSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """One policy in one audit: applicable or not, and why."""

    policy_id = serializers.CharField(source="policy.policy_id", read_only=True)

    class Meta:
        model = PolicyVerdict
        fields = ["id", "audit", "policy", "policy_id", "status", "reason", "levels"]


class PolicyVerdictViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Policy-level verdicts of your groups' audits (`?audit=`)."""

    queryset = PolicyVerdict.objects.select_related("policy")
    serializer_class = PolicyVerdictSerializer
    permission_classes = [GroupRolePermission]
    filterset_fields = ["audit", "status", "policy"]

    def get_queryset(self) -> QuerySet[Any]:
        return scope(super().get_queryset(), self.request.user, "audit__host__group")

    def group_of(self, obj: Model) -> int | None:
        return group_id_of(obj, "audit__host__group")
