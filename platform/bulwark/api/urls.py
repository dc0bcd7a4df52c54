"""/api/: every app's routes on one router, "audit now", token auth, the OpenAPI 3 schema
(/api/schema/) and its browsable UI (/api/docs/)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from bulwark.audits.api import urls as audits
from bulwark.inventory.api import urls as inventory
from bulwark.policies.api import urls as policies

router = DefaultRouter()
for prefix, viewset, basename in [*inventory.ROUTES, *policies.ROUTES, *audits.ROUTES]:
    router.register(prefix, viewset, basename=basename)

app_name = "api"
urlpatterns = [
    *audits.urlpatterns,
    path("auth/token/", obtain_auth_token, name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
