"""Routes of the inventory API (mounted under /api/ by bulwark.api.urls)."""

from __future__ import annotations

from bulwark.inventory.api import views

ROUTES = [
    ("groups", views.GroupViewSet, "group"),
    ("hosts", views.HostViewSet, "host"),
    ("credentials", views.CredentialViewSet, "credential"),
    ("memberships", views.MembershipViewSet, "membership"),
]
