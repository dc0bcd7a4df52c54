"""Routes of the audits API (mounted under /api/ by bulwark.api.urls), and "audit now" on
hosts and groups (here: starting audits is the audits app's service)."""

from __future__ import annotations

from django.urls import path, re_path

from bulwark.audits.api import exports, preview, remediation, risks, targeting, views, zones

ROUTES = [
    ("audits", views.AuditViewSet, "audit"),
    ("results", views.ResultViewSet, "result"),
    ("score-samples", views.ScoreSampleViewSet, "scoresample"),
    ("alerts", views.AlertViewSet, "alert"),
    ("schedules", views.ScheduleViewSet, "schedule"),
    ("assignments", targeting.AssignmentViewSet, "assignment"),
    ("policy-verdicts", targeting.PolicyVerdictViewSet, "policyverdict"),
    ("exceptions", risks.ExceptionViewSet, "exception"),
]

urlpatterns = [
    # Before the router's policies/<pk>/: here because it reads audits' kept facts.
    path("policies/preview/", preview.PolicyPreviewView.as_view(), name="policy-preview"),
    path("hosts/<int:pk>/audit/", views.HostAuditView.as_view(), name="host-audit"),
    path("groups/<int:pk>/audit/", views.GroupAuditView.as_view(), name="group-audit"),
    re_path(
        rf"^audits/(?P<pk>[0-9]+)/export\.(?P<kind>{exports.KIND_PATTERN})$",
        exports.AuditExportView.as_view(),
        name="audit-export",
    ),
    re_path(
        rf"^hosts/(?P<pk>[0-9]+)/export\.(?P<kind>{exports.KIND_PATTERN})$",
        exports.HostExportView.as_view(),
        name="host-export",
    ),
    re_path(
        rf"^groups/(?P<pk>[0-9]+)/export\.(?P<kind>{exports.KIND_PATTERN})$",
        exports.GroupExportView.as_view(),
        name="group-export",
    ),
    path("zones/", zones.ZoneView.as_view(), name="zones"),
    re_path(
        rf"^hosts/(?P<pk>[0-9]+)/remediation\.(?P<fmt>{remediation.FORMAT_PATTERN})$",
        remediation.HostRemediationView.as_view(),
        name="host-remediation",
    ),
]
