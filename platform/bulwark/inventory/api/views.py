"""API views of the inventory: groups, hosts, credentials, memberships, scoped to the user."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers as drf
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

from bulwark.core import seclog
from bulwark.inventory import bindings, filtersets, memberships
from bulwark.inventory.access import is_unrestricted, scope
from bulwark.inventory.api import serializers
from bulwark.inventory.api.base import GroupRolePermission, ScopedViewSet, SuperuserCreates
from bulwark.inventory.models import Credential, Group, Host, Membership, Role


class GroupViewSet(ScopedViewSet):
    """Groups you are a member of. Superusers create groups; a group's admins change it."""

    queryset = Group.objects.all()
    serializer_class = serializers.GroupSerializer
    filterset_class = filtersets.GroupFilterSet
    group_path = "pk"
    permission_classes = [GroupRolePermission, SuperuserCreates]
    ordering_fields = ["name", "id"]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        user = self.request.user
        if not is_unrestricted(user) and user.is_authenticated:
            context["roles"] = dict(
                Membership.objects.filter(user=user).values_list("group_id", "role")
            )
        return context


class HostViewSet(ScopedViewSet):
    """Hosts of your groups. Admins of a host's group add, change and delete it. Start an audit
    with POST /api/hosts/{id}/audit/ (operators)."""

    queryset = Host.objects.select_related("group")
    serializer_class = serializers.HostSerializer
    filterset_class = filtersets.HostFilterSet
    ordering_fields = ["name", "address", "latest_score", "last_audit_at", "state", "id"]

    throttle_scope = "confirm-credential"  # read by ScopedRateThrottle, on that action only

    @extend_schema(
        request=serializers.ConfirmCredentialSerializer, responses=serializers.HostSerializer
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="confirm-credential",
        # Each try checks a guess of the stored secrets: few per hour.
        throttle_classes=[ScopedRateThrottle, UserRateThrottle],
    )
    def confirm_credential(self, request: Request, pk: str | None = None) -> Response:
        """Allow the host's credential to be sent to the host's current destination. Group
        admins re-enter every secret the credential stores; superusers need none."""
        host = self.get_object()
        given = serializers.ConfirmCredentialSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            bindings.confirm_with_secrets(host, request.user, given.validated_data)
        except ValidationError as exc:
            seclog.record("credential.confirm_refused", f"{host.group_id}/{host.name}")
            raise drf.ValidationError(exc.message_dict) from None
        return Response(self.get_serializer(host).data)


class CredentialViewSet(ScopedViewSet):
    """Credentials of your groups; secrets are write-only. Admins of the group manage them."""

    queryset = Credential.objects.all()
    serializer_class = serializers.CredentialSerializer
    filterset_class = filtersets.CredentialFilterSet
    ordering_fields = ["name", "id"]


class MembershipViewSet(ScopedViewSet):
    """Who has which role in the groups you administer."""

    queryset = Membership.objects.select_related("user", "group")
    serializer_class = serializers.MembershipSerializer
    filterset_class = filtersets.MembershipFilterSet
    ordering_fields = ["id", "role"]

    def get_queryset(self) -> QuerySet[Membership]:
        # Only a group's admins see its members, for reads too.
        base = Membership.objects.select_related("user", "group")
        return scope(base, self.request.user, "group", at_least=Role.ADMIN)

    def perform_update(self, serializer: drf.BaseSerializer[Membership]) -> None:
        stored = serializer.instance
        assert stored is not None
        data = serializer.validated_data
        group = data.get("group", stored.group)
        with transaction.atomic():  # the check and the change under one lock
            _keeping_an_admin(stored, data.get("role", stored.role), group.pk)
            super().perform_update(serializer)

    def perform_destroy(self, instance: Membership) -> None:
        with transaction.atomic():
            _keeping_an_admin(instance)
            super().perform_destroy(instance)


def _keeping_an_admin(membership: Membership, *change: Any) -> None:
    try:
        memberships.keeps_an_admin(membership, *change)
    except ValidationError as exc:
        raise drf.ValidationError(exc.message_dict) from exc
