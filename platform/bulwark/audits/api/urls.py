"""Routes of the audits API (mounted under /api/ by bulwark.api.urls), and "audit now" on
hosts and groups (here: starting audits is the audits app's service)."""

from __future__ import annotations

from django.urls import path

from bulwark.audits.api import preview, risks, targeting, views

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
]
