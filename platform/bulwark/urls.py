"""URL routes."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/reports/", include("bulwark.reports.urls")),
    path("api/", include("bulwark.api.urls")),
    # The pages and /metrics, at the root: keep this last.
    path("", include("bulwark.web.urls")),
]
