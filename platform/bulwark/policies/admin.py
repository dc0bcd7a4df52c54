"""Admin for the catalogue: read-only (policies change through sync_rulesets/import_policy)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from bulwark.policies.models import Check, Policy


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows written only by services: viewable, not editable here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CatalogueAdmin(ReadOnlyAdmin):
    """The catalogue is shared by every group: all staff read it, superusers delete."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


@admin.register(Policy)
class PolicyAdmin(CatalogueAdmin):
    list_display = ["policy_id", "name", "origin", "dialect", "check_count", "enabled"]
    list_filter = ["origin", "enabled", "dialect"]
    search_fields = ["policy_id", "name"]
    exclude = ["source"]


@admin.register(Check)
class CheckAdmin(CatalogueAdmin):
    list_display = ["check_id", "title", "policy", "category", "level", "active"]
    list_filter = ["policy", "category", "level", "active"]
    search_fields = ["check_id", "title"]
    list_select_related = ["policy"]
