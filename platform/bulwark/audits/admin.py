"""Admin for audits, results, history, alerts and schedules, with "audit again", each scoped
to the user's groups (inventory/admin_scoping.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from bulwark.audits import assignment_services, history, risk_services
from bulwark.audits.models import (
    AlertEvent,
    Assignment,
    Audit,
    CategorySummary,
    ExceptionEvent,
    PolicyVerdict,
    Result,
    RiskException,
    Schedule,
    ScoreSample,
)
from bulwark.audits.services import acknowledge_alerts, audit_now
from bulwark.inventory.access import is_unrestricted
from bulwark.inventory.admin_scoping import GroupScopedAdmin, ScopedInline
from bulwark.inventory.models import Host, Role
from bulwark.policies.admin import ReadOnlyAdmin


@admin.action(description="Audit these hosts again now", permissions=["audit"])
def audit_again(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Audit]) -> None:
    hosts = Host.objects.filter(audits__in=queryset).distinct()
    audits, refused = audit_now(request.user, hosts)
    messages.info(request, f"{len(audits)} audit(s) queued")
    if refused:
        messages.warning(request, f"{refused} skipped: starting audits needs the operator role")


class ScopedReadOnlyAdmin(GroupScopedAdmin, ReadOnlyAdmin):
    """Rows the services write, viewable in the user's groups; group admins may delete."""

    group_path = "host__group"

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CategorySummaryInline(ScopedInline):
    model = CategorySummary
    fields = ["category", "passed", "failed", "not_applicable", "score"]
    readonly_fields = fields


@admin.register(Audit)
class AuditAdmin(ScopedReadOnlyAdmin):
    list_display = [
        "id",
        "host",
        "status",
        "trigger",
        "created_at",
        "finished_at",
        "score",
        "passed",
        "failed",
        "not_applicable",
        "attempts",
    ]
    list_filter = ["status", "trigger", ("host__group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["host__name", "error_reason"]
    list_select_related = ["host"]
    date_hierarchy = "created_at"
    inlines = [CategorySummaryInline]
    actions = [audit_again]


@admin.register(Result)
class ResultAdmin(ScopedReadOnlyAdmin):
    list_display = ["audit", "check_id", "title", "category", "status"]
    list_filter = ["status", "policy_check__category", "policy_check__policy"]
    search_fields = ["policy_check__check_id", "policy_check__title"]
    list_select_related = ["audit", "policy_check"]
    raw_id_fields = ["audit", "policy_check"]
    group_path = "audit__host__group"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Result]:
        # The rows as stored (an older audit keeps only its changes, docs/history.md), without
        # the markers that only rebuilding reads.
        return super().get_queryset(request).exclude(status=history.ABSENT)

    @admin.display(description="check", ordering="policy_check__check_id")
    def check_id(self, obj: Result) -> str:
        return obj.policy_check.check_id

    @admin.display(description="title")
    def title(self, obj: Result) -> str:
        return obj.policy_check.title

    @admin.display(description="category", ordering="policy_check__category")
    def category(self, obj: Result) -> str:
        return obj.policy_check.category


@admin.register(ScoreSample)
class ScoreSampleAdmin(ScopedReadOnlyAdmin):
    list_display = ["host", "time", "score", "passed", "failed", "not_applicable"]
    list_filter = [("host__group", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["host"]
    date_hierarchy = "time"


@admin.action(description="Acknowledge", permissions=["audit"])
def acknowledge(modeladmin: Any, request: HttpRequest, queryset: QuerySet[AlertEvent]) -> None:
    count = acknowledge_alerts(modeladmin.rows_for(request, queryset, Role.OPERATOR))
    messages.info(request, f"{count} alert(s) acknowledged")


@admin.register(AlertEvent)
class AlertEventAdmin(ScopedReadOnlyAdmin):
    list_display = ["created_at", "host", "kind", "severity", "message", "acknowledged_at"]
    list_filter = ["kind", "severity", "acknowledged_at"]
    search_fields = ["host__name", "message"]
    list_select_related = ["host"]
    actions = [acknowledge]


@admin.register(Schedule)
class ScheduleAdmin(GroupScopedAdmin):
    list_display = [
        "id",
        "host",
        "group",
        "interval_days",
        "command_timeout",
        "spread_minutes",
        "enabled",
    ]
    list_filter = ["enabled", ("group", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["host", "group"]
    autocomplete_fields = ["host", "group"]
    group_path = ("host__group", "group")
    related_scopes = {"host": "group", "group": "pk"}


@admin.register(Assignment)
class AssignmentAdmin(GroupScopedAdmin):
    """Which policies, levels and profile apply to a group or host; without either, a default
    (superusers only)."""

    list_display = ["id", "policy", "group", "host", "levels", "profile", "created_at"]
    list_filter = ["policy", ("group", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["policy", "host", "group"]
    autocomplete_fields = ["host", "group"]
    group_path = ("host__group", "group")
    related_scopes = {"host": "group", "group": "pk"}
    readonly_fields = ["created_by", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Defaults belong to no group: everyone reads them, as they read the catalogue.
        defaults = Assignment.objects.filter(group__isnull=True, host__isnull=True)
        return super().get_queryset(request) | defaults

    def _may(self, request: HttpRequest, role: Role, obj: Any) -> bool:
        if obj is not None and obj.group_id is None and obj.host_id is None:
            return role == Role.VIEWER or is_unrestricted(request.user)
        return super()._may(request, role, obj)

    def save_model(self, request: HttpRequest, obj: Assignment, form: Any, change: bool) -> None:
        # Through the service: checked, logged, and the hosts it reaches re-scored at once.
        assignment_services.save(request.user, obj)

    def delete_model(self, request: HttpRequest, obj: Assignment) -> None:
        assignment_services.delete(request.user, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for assignment in queryset:
            assignment_services.delete(request.user, assignment)


@admin.register(PolicyVerdict)
class PolicyVerdictAdmin(ScopedReadOnlyAdmin):
    list_display = ["audit", "policy", "status", "reason"]
    list_filter = ["status", "policy"]
    list_select_related = ["audit", "policy"]
    raw_id_fields = ["audit"]
    group_path = "audit__host__group"


class ExceptionEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ExceptionEvent
    fields = ["action", "user", "at", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description="Revoke these exceptions", permissions=["change"])
def revoke_exceptions(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[RiskException]
) -> None:
    done = 0
    for exception in queryset:
        try:
            done += risk_services.revoke(request.user, exception, "revoked in the admin")
        except PermissionDenied as exc:
            messages.error(request, f"{exception}: {exc}")
    messages.info(request, f"{done} exception(s) revoked")


@admin.action(description="Approve these exceptions", permissions=["change"])
def approve_exceptions(
    modeladmin: Any, request: HttpRequest, queryset: QuerySet[RiskException]
) -> None:
    done = 0
    for exception in queryset:
        try:
            done += risk_services.approve(request.user, exception)
        except PermissionDenied as exc:
            messages.error(request, f"{exception}: {exc}")
    messages.info(request, f"{done} exception(s) approved")


@admin.register(RiskException)
class RiskExceptionAdmin(GroupScopedAdmin):
    """Exceptions are read here and approved or revoked by action; they are created through
    the API, the pages or `manage.py exceptions import`, so every change has its trail."""

    list_display = ["id", "policy_id", "check_id", "host", "group", "status", "expires_at", "owner"]
    list_filter = ["status", ("group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["policy_id", "check_id", "justification", "owner", "reference"]
    list_select_related = ["host", "group"]
    group_path = ("host__group", "group")
    write_role = Role.OPERATOR
    inlines = [ExceptionEventInline]
    actions = [approve_exceptions, revoke_exceptions]
    readonly_fields = [f.name for f in RiskException._meta.fields]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing is deleted, only revoked
