"""API of exceptions (accepted risks): list and create in your groups, approve, revoke, the
audit trail, and exceptions as code (YAML export and all-or-nothing import)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from bulwark.audits import risk_files, risk_services
from bulwark.audits.risks import ExceptionEvent, RiskException
from bulwark.inventory.access import scope
from bulwark.inventory.api.base import ScopedRelatedFields
from bulwark.inventory.models import Role

MAX_UPLOAD = risk_files.MAX_BYTES


class ExceptionEventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    user = serializers.CharField(source="user.username", default=None, read_only=True)

    class Meta:
        model = ExceptionEvent
        fields = ["action", "user", "at", "note"]


class ExceptionSerializer(ScopedRelatedFields, serializers.ModelSerializer):  # type: ignore[type-arg]
    """{"policy_id", "check_id", "host" | "group" | neither (every host, superusers),
    "justification", "owner", "reference", "expires_at"}; the rest is read-only."""

    scoped_fields = {"host": "group", "group": "pk"}
    related_role = Role.OPERATOR
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", default=None, read_only=True)
    revoked_by = serializers.CharField(source="revoked_by.username", default=None, read_only=True)
    events = ExceptionEventSerializer(many=True, read_only=True)

    class Meta:
        model = RiskException
        fields = [
            "id",
            "policy_id",
            "check_id",
            "host",
            "group",
            "justification",
            "owner",
            "reference",
            "expires_at",
            "status",
            "created_by",
            "created_at",
            "approved_by",
            "approved_at",
            "revoked_by",
            "revoked_at",
            "events",
        ]
        read_only_fields = ["status", "created_at", "approved_at", "revoked_at"]


class ImportSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=200, default="exceptions.yml")
    content = serializers.CharField(max_length=MAX_UPLOAD, trim_whitespace=False)


def visible(user: Any) -> QuerySet[RiskException]:
    """Exceptions of the user's groups and hosts, and the fleet-wide ones (they cover every
    host, the user's included)."""
    fleet = Q(host__isnull=True, group__isnull=True)
    scoped = scope(RiskException.objects.all(), user, ("host__group", "group"))
    return RiskException.objects.filter(Q(pk__in=scoped.values("pk")) | fleet)


class ExceptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """Accepted risks. Nothing is changed or deleted in place: approve and revoke are actions,
    every change is in `events`."""

    serializer_class = ExceptionSerializer
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filterset_fields = ["status", "policy_id", "check_id", "host", "group"]
    ordering_fields = ["id", "expires_at", "created_at"]

    def get_queryset(self) -> QuerySet[RiskException]:
        return (
            visible(self.request.user)
            .select_related("host", "group", "created_by", "approved_by", "revoked_by")
            .prefetch_related("events__user")
        )

    def perform_create(self, serializer: Any) -> None:
        exception = RiskException(**serializer.validated_data)
        try:
            risk_services.create(self.request.user, exception)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except DjangoValidationError as exc:
            raise serializers.ValidationError(risk_services.validation_messages(exc)) from None
        serializer.instance = exception

    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        exception = self.get_object()
        try:
            won = risk_services.approve(request.user, exception)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return self._after(exception, won, "only a pending exception can be approved")

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        exception = self.get_object()
        note = str(request.data.get("note", ""))[:1000] if hasattr(request, "data") else ""
        try:
            won = risk_services.revoke(request.user, exception, note)
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return self._after(exception, won, "only a pending or active exception can be revoked")

    def _after(self, exception: RiskException, won: bool, refusal: str) -> Response:
        if not won:
            return Response({"detail": refusal}, status=status.HTTP_409_CONFLICT)
        exception.refresh_from_db()
        return Response(self.get_serializer(exception).data)

    @extend_schema(
        responses={
            (200, "application/yaml"): OpenApiResponse(
                {"type": "object", "properties": {"exceptions": {"type": "array"}}},
                description="the YAML file of `manage.py exceptions import`",
            )
        }
    )
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> HttpResponse:
        """The pending and active exceptions you see, as the YAML file of `manage.py
        exceptions import`."""
        rows = self.get_queryset().filter(
            status__in=[RiskException.Status.PENDING, RiskException.Status.ACTIVE]
        )
        return HttpResponse(risk_files.export_text(list(rows)), content_type="application/yaml")

    @action(detail=False, methods=["post"], url_path="import")
    def import_file(self, request: Request) -> Response:
        """Import a YAML file (JSON {name, content} or multipart `file`): all or nothing."""
        upload = request.FILES.get("file") if hasattr(request.FILES, "get") else None
        if upload is not None:
            name = PurePath(upload.name or "exceptions.yml").name
            if upload.size is not None and upload.size > MAX_UPLOAD:
                return _refused([f"{name}: larger than {MAX_UPLOAD} bytes"])
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                return _refused([f"{name}: not UTF-8 text"])
        else:
            payload = ImportSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            name = PurePath(payload.validated_data["name"]).name
            text = payload.validated_data["content"]
        try:
            report = risk_files.import_text(text, name, request.user)
        except risk_files.ExceptionFileRefused as exc:
            return _refused(exc.problems)
        return Response(
            {"created": report.created, "skipped": report.skipped},
            status=status.HTTP_201_CREATED,
        )


def _refused(problems: list[str]) -> Response:
    return Response(
        {"detail": "exceptions refused, nothing imported", "problems": problems},
        status=status.HTTP_400_BAD_REQUEST,
    )
