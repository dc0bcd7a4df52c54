"""URL routes."""

from django.contrib import admin
from django.urls import include, path

# The admin stays for superusers; it says whose it is.
admin.site.site_header = admin.site.site_title = "Bulwark administration"
admin.site.index_title = "Inventory, audits and policies"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/reports/", include("bulwark.reports.urls")),
    path("api/", include("bulwark.api.urls")),
    # Single sign-on (OpenID Connect): 404 unless OIDC_ENABLED (bulwark/web/sso.py).
    path("oidc/", include("bulwark.web.sso")),
    # The pages and /metrics, at the root: keep this last.
    path("", include("bulwark.web.urls")),
]

# /api/ answers its 404s and 500s in JSON, as its other errors (bulwark/api/errors.py).
handler404 = "bulwark.api.errors.not_found"
handler500 = "bulwark.api.errors.server_error"
