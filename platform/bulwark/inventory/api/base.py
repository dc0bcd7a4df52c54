"""Access control for every API view: querysets scoped to the user's groups, roles per action.

A user of group A gets 404 for anything of group B (it is not in the scoped queryset), 403 for
an action their role in the object's own group does not allow. Related fields in payloads
(group, host, credential, jump host) accept only objects of groups the user may change.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db.models import Model, ProtectedError, QuerySet
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bulwark.inventory.access import can, group_id_of, has_any_role, is_unrestricted, scope
from bulwark.inventory.models import Role

SAFE = permissions.SAFE_METHODS


class GroupRolePermission(permissions.BasePermission):
    """Reads need membership (the queryset is scoped); writes need the view's `write_role` in
    the object's group; custom actions name their role in `action_roles`."""

    message = "your role in this group does not allow this"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        role = _required_role(request, view)
        if role is None:
            return True
        if getattr(view, "action", None) == "create":
            creator = getattr(view, "create_role", role)
            return creator is not None and has_any_role(user, creator)
        return True

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        role = _required_role(request, view)
        if role is None:
            return True
        group_id = view.group_of(obj)  # type: ignore[attr-defined]
        return group_id is not None and can(request.user, group_id, role)


def _required_role(request: Request, view: APIView) -> Role | None:
    action = getattr(view, "action", None)
    roles: dict[str, Role] = getattr(view, "action_roles", {})
    if action in roles:
        return roles[action]
    if request.method in SAFE:
        return None
    return getattr(view, "write_role", Role.ADMIN)


class SuperuserCreates(permissions.BasePermission):
    """Only superusers create these (groups: a new group has no members to manage it)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if getattr(view, "action", None) == "create":
            return is_unrestricted(request.user)
        return True


class ScopedViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    """A model viewset whose rows are limited to the user's groups.

    Subclasses set `queryset` and `group_path` (the model's way to its group, as for
    `access.scope`) and implement `group_of(obj)` when the path is not a plain field."""

    group_path: ClassVar[str | tuple[str, ...]] = "group"
    write_role: ClassVar[Role] = Role.ADMIN
    action_roles: ClassVar[dict[str, Role]] = {}
    permission_classes = [GroupRolePermission]

    def get_queryset(self) -> QuerySet[Any]:
        return scope(super().get_queryset(), self.request.user, self.group_path)

    def group_of(self, obj: Model) -> int | None:
        return group_id_of(obj, self.group_path)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().destroy(request, *args, **kwargs)
        except ProtectedError as exc:
            users = sorted({str(o) for o in exc.protected_objects})[:10]
            return Response(
                {"detail": f"still in use by: {', '.join(users)}"}, status=status.HTTP_409_CONFLICT
            )


class ScopedRelatedFields:
    """A serializer mixin: each related field named in `scoped_fields` (field -> that model's
    path to its group) offers only objects of groups where the user has `related_role`."""

    scoped_fields: ClassVar[dict[str, str]] = {}
    related_role: ClassVar[Role] = Role.ADMIN

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields: dict[str, serializers.Field] = super().get_fields()  # type: ignore[misc,type-arg]
        request = self.context.get("request")  # type: ignore[attr-defined]
        user = getattr(request, "user", None)
        for name, path in self.scoped_fields.items():
            field = fields.get(name)
            queryset = getattr(field, "queryset", None)
            if field is not None and queryset is not None:
                field.queryset = scope(queryset, user, path, at_least=self.related_role)  # type: ignore[attr-defined]
        return fields
