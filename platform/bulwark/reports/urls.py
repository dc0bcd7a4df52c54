"""Routes under /api/reports/."""

from django.urls import re_path

from bulwark.reports import views

urlpatterns = [
    re_path(
        r"^(?P<kind>[a-z-]+)\.(?P<fmt>pdf|json|csv)$", views.ReportView.as_view(), name="report"
    ),
]
