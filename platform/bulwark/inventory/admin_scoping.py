"""Access control in the Django admin: every changelist, change page, action and autocomplete
sees only the user's groups, and roles (not Django's model permissions) decide what they may do.

An object of another group is a 404 on every page (never "perhaps it was deleted"), is never
listed, never offered in a select or autocomplete, and no action reaches it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin
from django.contrib.admin.actions import delete_selected
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest, HttpResponse

from bulwark.inventory.access import can, group_id_of, has_any_role, scope
from bulwark.inventory.models import Role


def _staff(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff)


class GroupScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """A ModelAdmin limited to the user's groups (reached through `group_path`).

    `view_role` reads, `write_role` adds, changes and deletes; `related_scopes` maps each
    foreign key to its model's path to a group, so selects offer only objects of groups where
    the user has `write_role`."""

    group_path: ClassVar[str | tuple[str, ...]] = "group"
    view_role: ClassVar[Role] = Role.VIEWER
    write_role: ClassVar[Role] = Role.ADMIN
    related_scopes: ClassVar[dict[str, str]] = {}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        return scope(queryset, request.user, self.group_path, at_least=self.view_role)

    def _may(self, request: HttpRequest, role: Role, obj: Model | None) -> bool:
        if not _staff(request):
            return False
        if obj is None:
            return has_any_role(request.user, role)
        group_id = group_id_of(obj, self.group_path)
        return group_id is not None and can(request.user, group_id, role)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request, self.view_role, None)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._may(request, self.view_role, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._may(request, self.write_role, None)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._may(request, self.write_role, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._may(request, self.write_role, obj)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:  # type: ignore[type-arg]
        path = self.related_scopes.get(db_field.name)
        if path is not None:
            related = db_field.remote_field.model._default_manager.all()
            kwargs["queryset"] = scope(related, request.user, path, at_least=self.write_role)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # -- 404 for what the user cannot see (Django would redirect with a message) --------------

    def _visible_or_404(self, request: HttpRequest, object_id: str) -> None:
        if self.get_object(request, admin.utils.unquote(object_id)) is None:
            raise Http404("no such object")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    # -- actions: each sees only the rows the user's role allows it to touch ------------------

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            _, name, description = actions["delete_selected"]
            actions["delete_selected"] = (self._delete_selected, name, description)
        return actions

    @staticmethod
    def _delete_selected(
        modeladmin: GroupScopedAdmin, request: HttpRequest, queryset: QuerySet[Any]
    ) -> HttpResponse | None:
        allowed = scope(queryset, request.user, modeladmin.group_path, at_least=Role.ADMIN)
        return delete_selected(modeladmin, request, allowed)  # type: ignore[no-any-return]

    def rows_for(self, request: HttpRequest, queryset: QuerySet[Any], role: Role) -> QuerySet[Any]:
        """The part of an action's queryset on which the user has `role`."""
        return scope(queryset, request.user, self.group_path, at_least=role)

    def has_audit_permission(self, request: HttpRequest) -> bool:
        """Actions marked permissions=["audit"] need the operator role somewhere."""
        return self._may(request, Role.OPERATOR, None)


class ScopedInline(admin.TabularInline):  # type: ignore[type-arg]
    """Read-only rows shown inside a scoped parent page: the parent's scope applies."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _staff(request)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
