"""API views of the catalogue: everyone signed in reads it; superusers import and enable."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from bulwark.core import seclog
from bulwark.core.api import SuperuserWrites
from bulwark.policies import filtersets
from bulwark.policies.api import serializers
from bulwark.policies.models import Check, Policy
from bulwark.policies.services import PolicyRefused, import_policy_texts

MAX_UPLOAD = 5 * 1024 * 1024  # bytes per file: our largest policy is ~1 MB


class PolicyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,  # type: ignore[type-arg]
):
    """The policies audits run. POST /api/policies/import/ adds user policies: all files or
    none, refused with name:line messages."""

    queryset = Policy.objects.defer("source")
    permission_classes = [SuperuserWrites]
    filterset_class = filtersets.PolicyFilterSet
    ordering_fields = ["policy_id", "name", "check_count"]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Policy]:
        if self.action == "retrieve":
            return Policy.objects.all()
        return super().get_queryset()

    def perform_update(self, serializer: BaseSerializer[Any]) -> None:
        policy = serializer.save()
        # Switching a policy off hides its failures from every report: who did it is logged.
        seclog.record("policy.switched", policy.policy_id, detail={"enabled": policy.enabled})

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "retrieve":
            return serializers.PolicySourceSerializer
        if self.action == "import_files":
            return serializers.PolicyImportSerializer
        return serializers.PolicySerializer

    @extend_schema(
        request=serializers.PolicyImportSerializer,
        responses={
            201: serializers.ImportReportSerializer,
            400: OpenApiResponse(serializers.RefusalSerializer, "refused; nothing imported"),
            413: OpenApiResponse(serializers.RefusalSerializer, "request body too large"),
        },
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_files(self, request: Request) -> Response:
        """Import policy files (JSON `files: [{name, content}]` or multipart `files`)."""
        sources = _uploaded(request)
        if isinstance(sources, Response):
            return sources
        try:
            report = import_policy_texts(sources)
        except PolicyRefused as exc:
            return Response(
                {"detail": "policies refused, nothing imported", "problems": exc.problems},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = serializers.ImportReportSerializer(report).data
        return Response(body, status=status.HTTP_201_CREATED)


def _uploaded(request: Request) -> list[tuple[str, str]] | Response:
    """(name, text) of each file in the request, or a 400 response naming the problem."""
    try:
        files, data = request.FILES, request.data  # parsing happens here
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {
                "detail": f"request body larger than {limit} bytes: send big files as "
                "multipart `files`",
                "problems": [],
            },
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    uploads = files.getlist("files") if hasattr(files, "getlist") else []
    if uploads:
        sources, problems = [], []
        for upload in uploads:
            name = PurePath(upload.name or "upload.yml").name
            if upload.size is not None and upload.size > MAX_UPLOAD:
                problems.append(f"{name}: larger than {MAX_UPLOAD} bytes")
                continue
            try:
                sources.append((name, upload.read().decode("utf-8")))
            except UnicodeDecodeError:
                problems.append(f"{name}: not UTF-8 text")
        if problems:
            return Response(
                {"detail": "policies refused, nothing imported", "problems": problems},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return sources
    payload = serializers.PolicyImportSerializer(data=data)
    if not payload.is_valid():
        # The same body as every other refusal of this endpoint (RefusalSerializer).
        return Response(
            {"detail": "policies refused, nothing imported", "problems": _messages(payload.errors)},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return [
        (PurePath(item["name"]).name, item["content"]) for item in payload.validated_data["files"]
    ]


def _messages(errors: Any, where: str = "") -> list[str]:
    """DRF's nested field errors as flat "files.0.name: message" lines."""
    if isinstance(errors, dict):
        return [
            line
            for key, value in errors.items()
            for line in _messages(value, f"{where}.{key}" if where else str(key))
        ]
    if isinstance(errors, list):
        if all(isinstance(item, str) for item in errors):
            return [f"{where}: {item}" for item in errors]
        return [line for i, item in enumerate(errors) for line in _messages(item, f"{where}.{i}")]
    return [f"{where}: {errors}"]


class CheckViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """The checks of the catalogue (P4): filter by policy, id, title, category, level."""

    queryset = Check.objects.select_related("policy")
    serializer_class = serializers.CheckSerializer
    filterset_class = filtersets.CheckFilterSet
    ordering_fields = ["check_id", "title", "category", "id"]
