"""Admin for groups, hosts and credentials, with "audit now". Secrets are never displayed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from bulwark.inventory.forms import CredentialForm
from bulwark.inventory.models import Credential, Group, Host


def _start(request: HttpRequest, hosts: QuerySet[Host]) -> None:
    from bulwark.audits.services import start_audits

    audits = start_audits(hosts, trigger="manual", user=request.user)
    messages.info(request, f"{len(audits)} audit(s) queued")


@admin.action(description="Audit now")
def audit_hosts_now(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Host]) -> None:
    _start(request, queryset)


@admin.action(description="Audit every host of the group now")
def audit_groups_now(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Group]) -> None:
    _start(request, Host.objects.filter(group__in=queryset))


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "host_count", "warning_below", "critical_below"]
    search_fields = ["name"]
    actions = [audit_groups_now]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Group]:
        return super().get_queryset(request).annotate(_hosts=Count("hosts"))

    @admin.display(description="hosts", ordering="_hosts")
    def host_count(self, obj: Any) -> int:
        return int(obj._hosts)


@admin.register(Host)
class HostAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
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
    list_filter = ["group", "transport", "state", "os_family"]
    search_fields = ["name", "address", "reported_hostname"]
    list_select_related = ["group"]
    autocomplete_fields = ["group", "credential"]
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
        ("Thresholds", {"fields": ["warning_below", "critical_below"]}),
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
class CredentialAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = CredentialForm
    list_display = ["name", "kind", "username", "sudo_mode", "jump_host", "secret_set"]
    list_filter = ["kind", "sudo_mode"]
    search_fields = ["name", "username"]
    autocomplete_fields = ["jump_host"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "username"]}),
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
