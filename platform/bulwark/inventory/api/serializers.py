"""Serializers of the inventory. Credential secrets are write-only: accepted, never returned."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from bulwark.core.api import ValidatedModelSerializer
from bulwark.inventory.access import addable_users, is_unrestricted
from bulwark.inventory.api.base import ScopedRelatedFields
from bulwark.inventory.models import Credential, Group, Host, Membership

SECRET_FIELDS = ("secret", "passphrase", "sudo_password")


class GroupSerializer(ValidatedModelSerializer):
    """A group, with the requesting user's role in it."""

    role = serializers.SerializerMethodField(help_text="your role here (admin for superusers)")

    class Meta:
        model = Group
        fields = [
            "id",
            "name",
            "description",
            "warning_below",
            "critical_below",
            "zone",
            "max_parallel",
            "role",
        ]

    def get_role(self, group: Group) -> str | None:
        roles: dict[int, str] | None = self.context.get("roles")
        if roles is None:
            return "admin"  # a superuser: no membership needed
        return roles.get(group.pk)

    def to_internal_value(self, data: Any) -> Any:
        # Group names are unique across Bulwark: a group admin trying names would learn other
        # groups' names from the refusals, so only superusers (who see all groups) rename.
        # Checked before the field's own uniqueness validator answers.
        request = self.context.get("request")
        name = data.get("name") if hasattr(data, "get") else None
        renaming = self.instance is not None and name is not None and self.instance.name != name
        if renaming and request is not None and not is_unrestricted(request.user):
            raise serializers.ValidationError({"name": ["only a superuser renames a group"]})
        return super().to_internal_value(data)


class HostSerializer(ScopedRelatedFields, ValidatedModelSerializer):
    """A host. OS facts and the latest audit's values are read-only (audits write them)."""

    scoped_fields = {"group": "pk", "credential": "group"}

    def run_validators(self, value: Any) -> None:
        # Names are unique per group (a name another group uses is free): the refusal names
        # the field, like every other field error.
        try:
            super().run_validators(value)
        except serializers.ValidationError as exc:
            detail = exc.detail
            messages = detail.get("non_field_errors", []) if isinstance(detail, dict) else detail
            if any("group, name" in str(m) for m in messages):
                raise serializers.ValidationError(
                    {"name": ["this group already has a host with this name"]}
                ) from None
            raise

    group_name = serializers.CharField(source="group.name", read_only=True)
    effective_zone = serializers.CharField(read_only=True, help_text="the host's or its group's")

    class Meta:
        model = Host
        fields = [
            "id",
            "name",
            "address",
            "port",
            "transport",
            "group",
            "group_name",
            "credential",
            "host_key",
            "trust_on_first_use",
            "winrm_auth",
            "winrm_allow_http",
            "ca_certificates",
            "warning_below",
            "critical_below",
            "zone",
            "effective_zone",
            "state",
            "latest_score",
            "latest_passed",
            "latest_failed",
            "latest_not_applicable",
            "latest_excepted",
            "latest_raw_score",
            "scope_widened_at",
            "scope_widened_reason",
            "last_audit_at",
            "os_family",
            "os_distribution",
            "os_version",
            "os_name",
            "kernel",
            "architecture",
            "reported_hostname",
            "created_at",
        ]
        read_only_fields = [
            "state",
            "latest_score",
            "latest_passed",
            "latest_failed",
            "latest_not_applicable",
            "latest_excepted",
            "latest_raw_score",
            "scope_widened_at",
            "scope_widened_reason",
            "last_audit_at",
            "os_family",
            "os_distribution",
            "os_version",
            "os_name",
            "kernel",
            "architecture",
            "reported_hostname",
            "created_at",
        ]


def _secret_field(help_text: str, *, allow_blank: bool) -> serializers.CharField:
    return serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=allow_blank,
        trim_whitespace=False,
        style={"input_type": "password"},
        help_text=help_text,
    )


class CredentialSerializer(ScopedRelatedFields, ValidatedModelSerializer):
    """A credential. `secret`, `passphrase` and `sudo_password` are write-only: leave them out
    to keep the stored values, send "" to clear a passphrase or sudo password. Responses say
    only whether each is set."""

    scoped_fields = {"group": "pk", "jump_host": "group"}
    secret = _secret_field("private key or password (write-only)", allow_blank=False)
    passphrase = _secret_field("passphrase of the private key (write-only)", allow_blank=True)
    sudo_password = _secret_field("sudo password; empty: the login one", allow_blank=True)
    has_secret = serializers.SerializerMethodField()
    has_passphrase = serializers.SerializerMethodField()
    has_sudo_password = serializers.SerializerMethodField()

    class Meta:
        model = Credential
        fields = [
            "id",
            "group",
            "name",
            "kind",
            "username",
            "secret",
            "passphrase",
            "sudo_mode",
            "sudo_password",
            "jump_host",
            "has_secret",
            "has_passphrase",
            "has_sudo_password",
            "created_at",
            "updated_at",
        ]

    def get_has_secret(self, credential: Credential) -> bool:
        return bool(credential.secret)

    def get_has_passphrase(self, credential: Credential) -> bool:
        return bool(credential.passphrase)

    def get_has_sudo_password(self, credential: Credential) -> bool:
        return bool(credential.sudo_password)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        for name in SECRET_FIELDS:  # belt and braces: write_only already keeps them out
            data.pop(name, None)
        return data


class ConfirmCredentialSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The secrets of a host's credential, re-entered to confirm the host's destination."""

    secret = _secret_field("the credential's private key or password", allow_blank=True)
    passphrase = _secret_field("its passphrase, if it has one", allow_blank=True)
    sudo_password = _secret_field("its sudo password, if it has one", allow_blank=True)


class MembershipSerializer(ScopedRelatedFields, ValidatedModelSerializer):
    """A user's role in a group; the user is named by username."""

    scoped_fields = {"group": "pk"}
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True)
    )

    class Meta:
        model = Membership
        fields = ["id", "group", "user", "role"]

    def get_fields(self) -> dict[str, serializers.Field]:  # type: ignore[type-arg]
        fields = super().get_fields()
        request = self.context.get("request")
        field = fields.get("user")
        if request is not None and isinstance(field, serializers.SlugRelatedField):
            field.queryset = addable_users(request.user)
        return fields
