"""Routes of the catalogue API (mounted under /api/ by bulwark.api.urls)."""

from __future__ import annotations

from bulwark.policies.api import views

ROUTES = [
    ("policies", views.PolicyViewSet, "policy"),
    ("checks", views.CheckViewSet, "check"),
]
