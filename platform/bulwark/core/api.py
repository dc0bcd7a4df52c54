"""Base classes of the REST API: serializers validate through the model's clean(), pagination.

Validation lives in the models (`clean()`); the API calls it, like NetBox's
ValidatedModelSerializer, so the admin, the pages and the API refuse the same things with the
same messages, each naming its field.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import CursorPagination, LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=`; the default page is API_PAGE_SIZE rows, at most 1000."""

    max_limit = 1000


class SuffixNegotiation(BaseContentNegotiation):
    """For endpoints whose URL suffix names the document (reports, exports): the Accept header
    is not consulted, so it never turns a download into a 406; errors render with the view's
    first renderer (JSON)."""

    def select_parser(self, request: Any, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class KeysetPagination(CursorPagination):
    """`?limit=` and `?cursor=` (follow `next` and `previous`): each page is a range of the
    primary key (`WHERE id > last ORDER BY id LIMIT n`), as fast at row 100,000 as at row 1,
    where an OFFSET reads and drops every row before the page. `count` is still given (one
    COUNT on the filtered rows); `?ordering=-id` walks backwards. `offset` is refused by name."""

    ordering = "id"
    page_size_query_param = "limit"
    max_page_size = 1000

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        if "offset" in request.query_params:
            raise ValidationError(
                {"offset": ["this list is paged by cursor: follow `next` (and `limit`)"]}
            )
        self.count = queryset.count()
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data = {"count": self.count, **response.data}
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"] = {"count": {"type": "integer"}, **answer["properties"]}
        return answer


class SuperuserWrites(permissions.BasePermission):
    """Any signed-in user reads; only superusers change (the catalogue is shared by all)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or bool(
            user.is_active and user.is_superuser
        )


def as_drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model ValidationError as DRF's: field -> messages (non-field ones under
    `non_field_errors`)."""
    if hasattr(exc, "error_dict"):
        detail = {
            ("non_field_errors" if name == "__all__" else name): messages
            for name, messages in exc.message_dict.items()
        }
        return serializers.ValidationError(detail)
    return serializers.ValidationError({"non_field_errors": exc.messages})


class ValidatedModelSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    """Runs the model's full_clean() (field validators, clean(), uniqueness) on a copy of the
    instance carrying the submitted values, before anything is saved."""

    #: Model fields full_clean() skips (set by the view, or validated elsewhere).
    clean_exclude: tuple[str, ...] = ()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model: type[Model] = self.Meta.model
        many_to_many = {f.name for f in model._meta.many_to_many}
        plain = {k: v for k, v in attrs.items() if k not in many_to_many}
        if self.instance is None:
            instance = model(**self.instance_defaults(), **plain)
        else:
            instance = copy.deepcopy(self.instance)  # FK caches live in _state: no sharing
            for name, value in plain.items():
                setattr(instance, name, value)
        try:
            instance.full_clean(exclude=list(self.clean_exclude) or None)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from None
        return attrs

    def instance_defaults(self) -> dict[str, Any]:
        """Values a new instance gets besides the submitted ones (override: from the view)."""
        return {}
