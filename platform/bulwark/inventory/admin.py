"""Admin for groups, hosts, credentials and memberships, with "audit now", each scoped to the
user's groups (admin_scoping.py). Secrets are never displayed."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from bulwark.inventory import memberships
from bulwark.inventory.access import addable_users, is_unrestricted
from bulwark.inventory.admin_scoping import GroupScopedAdmin
from bulwark.inventory.forms import CredentialForm
from bulwark.inventory.models import Credential, Group, Host, Membership, Role


def _start(request: HttpRequest, hosts: QuerySet[Host]) -> None:
    # The one upward import of the inventory (an admin action starts audits); allowed by the
    # layers contract in pyproject.toml.
    from bulwark.audits.services import audit_now

    audits, refused = audit_now(request.user, hosts)
    messages.info(request, f"{len(audits)} audit(s) queued")
    if refused:
        messages.warning(request, f"{refused} skipped: starting audits needs the operator role")


@admin.action(description="Audit now", permissions=["audit"])
def audit_hosts_now(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Host]) -> None:
    _start(request, queryset)


@admin.action(description="Audit every host of the group now", permissions=["audit"])
def audit_groups_now(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Group]) -> None:
    _start(request, Host.objects.filter(group__in=queryset))


@admin.register(Group)
class GroupAdmin(GroupScopedAdmin):
    list_display = ["name", "host_count", "warning_below", "critical_below", "zone"]
    search_fields = ["name"]
    actions = [audit_groups_now]
    group_path = "pk"
    ordering = ["name"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        # A new group has no members yet: only superusers make them.
        return is_unrestricted(request.user) and bool(request.user.is_staff)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return super().get_queryset(request).annotate(_hosts=Count("hosts"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # Names are unique across groups: renaming would tell a group admin other groups' names.
        readonly = list(super().get_readonly_fields(request, obj))
        return readonly if is_unrestricted(request.user) else [*readonly, "name"]

    @admin.display(description="hosts", ordering="_hosts")
    def host_count(self, obj: Any) -> int:
        return int(obj._hosts)


@admin.register(Host)
class HostAdmin(GroupScopedAdmin):
    list_display = [
        "name",
        "address",
        "transport",
        "group",
        "os_name",
        "latest_score",
        "state",
        "last_audit_at",
    ]
    list_filter = [
        ("group", admin.RelatedOnlyFieldListFilter),
        "transport",
        "state",
        "os_family",
    ]
    search_fields = ["name", "address", "reported_hostname"]
    list_select_related = ["group"]
    autocomplete_fields = ["group", "credential"]
    related_scopes = {"group": "pk", "credential": "group"}
    actions = [audit_hosts_now]
    readonly_fields = [
        "os_family",
        "os_distribution",
        "os_version",
        "os_name",
        "kernel",
        "architecture",
        "reported_hostname",
        "last_audit_at",
        "latest_score",
        "latest_passed",
        "latest_failed",
        "latest_not_applicable",
        "state",
    ]
    fieldsets = [
        (None, {"fields": ["name", "group", "address", "port", "transport", "credential"]}),
        ("Host key", {"fields": ["host_key", "trust_on_first_use"]}),
        ("WinRM", {"fields": ["winrm_auth", "winrm_allow_http", "ca_certificates"]}),
        ("Thresholds", {"fields": ["warning_below", "critical_below"]}),
        ("Zone", {"fields": ["zone"]}),
        (
            "Latest audit",
            {
                "fields": [
                    "state",
                    "latest_score",
                    ("latest_passed", "latest_failed", "latest_not_applicable"),
                    "last_audit_at",
                ]
            },
        ),
        (
            "Operating system",
            {
                "fields": [
                    "os_name",
                    ("os_family", "os_distribution", "os_version"),
                    ("kernel", "architecture"),
                    "reported_hostname",
                ]
            },
        ),
    ]


@admin.register(Credential)
class CredentialAdmin(GroupScopedAdmin):
    form = CredentialForm
    list_display = ["name", "group", "kind", "username", "sudo_mode", "jump_host", "secret_set"]
    list_filter = [("group", admin.RelatedOnlyFieldListFilter), "kind", "sudo_mode"]
    list_select_related = ["group", "jump_host"]
    search_fields = ["name", "username"]
    autocomplete_fields = ["group", "jump_host"]
    related_scopes = {"group": "pk", "jump_host": "group"}
    fieldsets = [
        (None, {"fields": ["group", "name", "kind", "username"]}),
        (
            "Secrets (write-only)",
            {
                "fields": [
                    "secret_set",
                    "new_secret",
                    "new_passphrase",
                    "clear_passphrase",
                    "new_sudo_password",
                    "clear_sudo_password",
                ]
            },
        ),
        ("Privileges and route", {"fields": ["sudo_mode", "jump_host"]}),
    ]
    readonly_fields = ["secret_set"]

    @admin.display(description="secret stored", boolean=True)
    def secret_set(self, obj: Credential) -> bool:
        return bool(obj.pk and obj.secret)


class MembershipForm(forms.ModelForm):  # type: ignore[type-arg]
    """The user is typed by username: the admin never lists every account to a group admin."""

    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        to_field_name="username",
        widget=forms.TextInput,
        help_text="the user's username",
    )

    class Meta:
        model = Membership
        fields = ["group", "user", "role"]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        group, role = cleaned.get("group"), cleaned.get("role")
        if self.instance.pk and group is not None and role:
            memberships.keeps_an_admin(self.instance, role, group.pk)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(GroupScopedAdmin):
    """Who may do what in which group; a group's admins manage its members."""

    form = MembershipForm
    list_display = ["user", "group", "role"]
    list_filter = [("group", admin.RelatedOnlyFieldListFilter), "role"]
    list_select_related = ["user", "group"]
    search_fields = ["user__username", "group__name"]
    related_scopes = {"group": "pk"}
    view_role = Role.ADMIN

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and _last_admins(Membership.objects.filter(pk=obj.pk)):
            return False  # a group keeps an admin (inventory/memberships.py)
        return super().has_delete_permission(request, obj)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        orphaned = _last_admins(queryset)
        if orphaned:
            messages.error(
                request,
                "Nothing deleted: "
                + ", ".join(orphaned)
                + " would have no admin left; make another member admin first.",
            )
            return
        super().delete_queryset(request, queryset)

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, **kwargs)
        # A copy: the declared field is shared by every form class made from MembershipForm.
        field = copy.deepcopy(form.base_fields["user"])
        field.queryset = addable_users(request.user)
        form.base_fields["user"] = field
        return form


def _last_admins(doomed: QuerySet[Membership]) -> list[str]:
    """The groups that deleting these memberships would leave without an admin. In a
    transaction (the admin's delete page and delete_queryset), their rows stay locked until
    it ends, as keeps_an_admin locks them: concurrent removals of a group's admins wait."""
    groups = doomed.filter(role=Role.ADMIN).values_list("group_id", flat=True)
    if transaction.get_connection().in_atomic_block:
        locked = Group.objects.select_for_update().filter(pk__in=list(groups)).order_by("pk")
        list(locked.values_list("pk"))
    kept = Membership.objects.filter(group_id__in=groups, role=Role.ADMIN).exclude(
        pk__in=doomed.values("pk")
    )
    left = set(kept.values_list("group_id", flat=True))
    names = Group.objects.filter(pk__in=groups).exclude(pk__in=left).values_list("name", flat=True)
    return sorted(names)
