"""Serializers of the catalogue and of policy uploads."""

from __future__ import annotations

from rest_framework import serializers

from bulwark.policies.models import Check, Policy


class PolicySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A policy; only `enabled` can be changed here (files change through import/sync)."""

    class Meta:
        model = Policy
        fields = [
            "id",
            "policy_id",
            "name",
            "description",
            "path",
            "origin",
            "dialect",
            "sha256",
            "references",
            "requirements",
            "enabled",
            "check_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [f for f in fields if f != "enabled"]


class PolicySourceSerializer(PolicySerializer):
    """A policy with its YAML source (the detail view)."""

    class Meta(PolicySerializer.Meta):
        fields = [*PolicySerializer.Meta.fields, "source"]
        read_only_fields = [*PolicySerializer.Meta.read_only_fields, "source"]


class CheckSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A check, with what P4/P9 show: description, rationale, remediation, compliance."""

    policy = serializers.SlugRelatedField(slug_field="policy_id", read_only=True)

    class Meta:
        model = Check
        fields = [
            "id",
            "policy",
            "check_id",
            "title",
            "description",
            "rationale",
            "remediation",
            "impact",
            "references",
            "compliance",
            "mitre",
            "category",
            "level",
            "condition",
            "rules",
            "line",
            "active",
        ]


class PolicyFileSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """One uploaded policy file: its name (used in messages as name:line) and YAML text."""

    name = serializers.CharField(max_length=255)
    content = serializers.CharField(trim_whitespace=False)


class PolicyImportSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Policy files to import, as JSON; multipart uploads (field `files`) work too."""

    files = PolicyFileSerializer(many=True, allow_empty=False)


class ImportReportSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """What an import changed."""

    policies = serializers.ListField(child=serializers.CharField())
    checks_created = serializers.IntegerField()
    checks_updated = serializers.IntegerField()
    checks_retired = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())


class RefusalSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Why nothing was imported: every problem of every file, as name:line: message."""

    detail = serializers.CharField()
    problems = serializers.ListField(child=serializers.CharField())
