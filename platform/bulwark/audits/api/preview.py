"""POST /api/policies/preview/: policy files (JSON `files: [{name, content}]` or multipart
`files`, like the import) evaluated on each host's kept facts; superusers only."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bulwark.audits.preview import preview_sources
from bulwark.inventory.access import is_unrestricted
from bulwark.policies.api.views import _uploaded
from bulwark.policies.services import PolicyRefused


class PolicyPreviewView(APIView):
    """Per host: passed, failed, not applicable and "needs collection" counts and every
    check's verdict. `?group=ID` limits it to one group. Nothing is stored."""

    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": OpenApiTypes.OBJECT,
            "application/json": OpenApiTypes.OBJECT,
        },
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request: Request) -> Response:
        if not is_unrestricted(request.user):
            raise PermissionDenied("policy previews are for superusers")
        sources = _uploaded(request)
        if isinstance(sources, Response):
            return sources
        group = request.query_params.get("group") or request.data.get("group")
        try:
            group_id = int(group) if group not in (None, "") else None
        except (TypeError, ValueError):
            return Response({"group": ["an id"]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            previews = preview_sources(request.user, sources, group_id=group_id)
        except PolicyRefused as exc:
            return Response(
                {"detail": "policies refused, nothing previewed", "problems": exc.problems},
                status=status.HTTP_400_BAD_REQUEST,
            )
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        return Response({"hosts": [p.as_dict() for p in previews]})
