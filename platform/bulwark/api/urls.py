"""/api/: every app's routes on one router, "audit now", token auth, the OpenAPI 3 schema
(/api/schema/) and its browsable UI (/api/docs/)."""

from __future__ import annotations

from typing import Any

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from bulwark.audits.api import urls as audits
from bulwark.core import seclog
from bulwark.inventory.api import urls as inventory
from bulwark.policies.api import urls as policies


class TokenView(ObtainAuthToken):
    """POST /api/auth/token/: a user's API token for their user name and password; each one
    handed out is a sign-in in the security log (failures are logged as failed sign-ins)."""

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:
            seclog.record("token.issued", str(request.data.get("username", "")), request=request)
        return response


router = DefaultRouter()
for prefix, viewset, basename in [*inventory.ROUTES, *policies.ROUTES, *audits.ROUTES]:
    router.register(prefix, viewset, basename=basename)

app_name = "api"
urlpatterns = [
    *audits.urlpatterns,
    path("auth/token/", TokenView.as_view(), name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
