"""Serializers of audits, results, category summaries, schedules, alerts and score history."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from bulwark.audits.models import (
    AlertEvent,
    Audit,
    CategorySummary,
    Result,
    RiskException,
    Schedule,
    ScoreSample,
)
from bulwark.core.api import ValidatedModelSerializer
from bulwark.inventory.api.base import ScopedRelatedFields
from bulwark.policies.api.serializers import CheckSerializer
from bulwark.policies.models import Check


class CategorySummarySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """Passed, failed, not applicable and score of one CIS Controls category in one audit."""

    class Meta:
        model = CategorySummary
        fields = ["category", "passed", "failed", "not_applicable", "excepted", "score"]


class AuditSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """An audit with its counts, score (P5) and category summary (P9)."""

    host_name = serializers.CharField(source="host.name", read_only=True)
    requested_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    categories = CategorySummarySerializer(many=True, read_only=True)

    class Meta:
        model = Audit
        fields = [
            "id",
            "host",
            "host_name",
            "status",
            "trigger",
            "requested_by",
            "command_timeout",
            "created_at",
            "started_at",
            "finished_at",
            "attempts",
            "error_reason",
            "passed",
            "failed",
            "not_applicable",
            "excepted",
            "score",
            "raw_score",
            "seconds",
            "latest",
            "results_purged_at",
            "host_facts",
            "categories",
        ]
        read_only_fields = fields


class CheckBriefSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """What a result list shows of its check."""

    policy = serializers.SlugRelatedField(slug_field="policy_id", read_only=True)

    class Meta:
        model = Check
        fields = ["id", "policy", "check_id", "title", "category", "level"]


class ResultExceptionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """The exception that makes a result "excepted": why, whose, until when."""

    class Meta:
        model = RiskException
        fields = ["id", "justification", "owner", "reference", "expires_at"]


class ResultSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """One check's outcome in one audit, with the evidence that decided it."""

    audit = serializers.SerializerMethodField()
    host = serializers.IntegerField(source="audit.host_id", read_only=True)
    finished_at = serializers.SerializerMethodField()
    check = CheckBriefSerializer(source="policy_check", read_only=True)
    exception = ResultExceptionSerializer(read_only=True, allow_null=True)

    # An older audit's result may be a row held by a newer audit (docs/history.md): with
    # ?audit= the row is shown as the audit asked for (`as_of`).
    def get_audit(self, row: Result) -> int:
        return int(getattr(row, "as_of", row.audit_id))

    def get_finished_at(self, row: Result) -> str | None:
        moment = getattr(row, "as_of_finished", row.audit.finished_at)
        return serializers.DateTimeField().to_representation(moment) if moment else None

    class Meta:
        model = Result
        fields = [
            "id",
            "audit",
            "host",
            "finished_at",
            "check",
            "status",
            "reason",
            "evidence",
            "exception",
        ]
        read_only_fields = fields


# The columns a result list row is made of (ResultSerializer's fields, read with values()).
RESULT_ROW_COLUMNS = (
    *("id", "audit_id", "audit__host_id", "audit__finished_at", "status", "reason", "evidence"),
    *("policy_check_id", "policy_check__policy__policy_id", "policy_check__check_id"),
    *("policy_check__title", "policy_check__category", "policy_check__level"),
    *("exception_id", "exception__justification", "exception__owner", "exception__reference"),
    "exception__expires_at",
)


def result_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """ResultSerializer's representation of list rows read as `RESULT_ROW_COLUMNS` (plus the
    `as_of` annotations of ?audit=): the same JSON, built as plain dicts. A page of 300 rows
    through the serializer made five model instances and about 60 field calls per row, most
    of a page's CPU; the schema still comes from ResultSerializer (tests check both agree)."""
    moment_text = serializers.DateTimeField().to_representation
    day_text = serializers.DateField().to_representation
    moments: dict[Any, str | None] = {}  # the rows of a page share a few audits' times
    answer = []
    for row in rows:
        moment = row["as_of_finished"] if "as_of_finished" in row else row["audit__finished_at"]
        if moment not in moments:
            moments[moment] = moment_text(moment) if moment else None
        exception = row["exception_id"]
        answer.append(
            {
                "id": row["id"],
                "audit": int(row.get("as_of", row["audit_id"])),
                "host": row["audit__host_id"],
                "finished_at": moments[moment],
                "check": {
                    "id": row["policy_check_id"],
                    "policy": row["policy_check__policy__policy_id"],
                    "check_id": row["policy_check__check_id"],
                    "title": row["policy_check__title"],
                    "category": row["policy_check__category"],
                    "level": row["policy_check__level"],
                },
                "status": row["status"],
                "reason": row["reason"],
                "evidence": row["evidence"],
                "exception": None
                if exception is None
                else {
                    "id": exception,
                    "justification": row["exception__justification"],
                    "owner": row["exception__owner"],
                    "reference": row["exception__reference"],
                    "expires_at": day_text(row["exception__expires_at"]),
                },
            }
        )
    return answer


class ResultDetailSerializer(ResultSerializer):
    """A result with its check's description, rationale, remediation and compliance (P9)."""

    check = CheckSerializer(source="policy_check", read_only=True)


class ScheduleSerializer(ScopedRelatedFields, ValidatedModelSerializer):
    """Periodic audits of one host or of every host of one group (P3)."""

    scoped_fields = {"host": "group", "group": "pk"}

    class Meta:
        model = Schedule
        fields = [
            "id",
            "host",
            "group",
            "interval_days",
            "command_timeout",
            "spread_minutes",
            "enabled",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class AlertSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """An alert event (P6): a worse state, regressed checks, or a changed host key."""

    host_name = serializers.CharField(source="host.name", read_only=True)

    class Meta:
        model = AlertEvent
        fields = [
            "id",
            "host",
            "host_name",
            "audit",
            "kind",
            "severity",
            "previous_state",
            "state",
            "message",
            "details",
            "created_at",
            "acknowledged_at",
        ]
        read_only_fields = fields


class ScoreSampleSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """A host's four hardening values at one audit (P6, P7)."""

    class Meta:
        model = ScoreSample
        fields = [
            "id",
            "host",
            "audit",
            "time",
            "failed",
            "not_applicable",
            "passed",
            "excepted",
            "score",
            "raw_score",
            "rescored",
        ]
        read_only_fields = fields


class StartAuditSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Options of "audit now"."""

    command_timeout = serializers.FloatField(
        required=False, min_value=1.0, max_value=3600.0, help_text="seconds per command"
    )
