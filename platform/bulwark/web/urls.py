"""Routes of the pages (mounted at the site root) and /metrics."""

from django.contrib.auth import views as auth_views
from django.urls import path

from bulwark.reports.metrics import metrics_view
from bulwark.web.views import (
    alerts,
    dashboard,
    exceptions,
    hosts,
    manage,
    preferences,
    progress,
    zones,
)

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="web/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("hosts/", hosts.host_list, name="hosts"),
    path("hosts/<int:pk>/", hosts.host_detail, name="host"),
    path("hosts/<int:pk>/audit/", hosts.audit_now, name="audit-now"),
    path("audits/<int:pk>/", hosts.audit_detail, name="audit"),
    path("audits/<int:audit_pk>/results/<int:pk>/", hosts.result_detail, name="result"),
    path("results/<int:pk>/except/", exceptions.create_exception, name="result-except"),
    path("results/<int:pk>/revoke/", exceptions.revoke_exception, name="result-revoke"),
    path("widgets/new/", dashboard.widget_edit, name="widget-new"),
    path("widgets/<int:pk>/", dashboard.widget_edit, name="widget-edit"),
    path("widgets/<int:pk>/delete/", dashboard.widget_delete, name="widget-delete"),
    path("reports/", dashboard.reports, name="reports"),
    path("progress.json", progress.progress, name="progress"),
    path("alerts/", alerts.alert_list, name="alerts"),
    path("zones/", zones.zone_list, name="zones"),
    path("settings/", preferences.preferences, name="preferences"),
    path("alerts/<int:pk>/acknowledge/", alerts.acknowledge, name="alert-ack"),
    path("manage/<str:kind_name>/", manage.manage_list, name="manage"),
    path("manage/<str:kind_name>/new/", manage.manage_edit, name="manage-new"),
    path("manage/<str:kind_name>/<int:pk>/", manage.manage_edit, name="manage-edit"),
    path("manage/<str:kind_name>/<int:pk>/delete/", manage.manage_delete, name="manage-delete"),
    path("manage/hosts/<int:pk>/test/", manage.test_connection, name="host-test"),
    path("manage/hosts/<int:pk>/pin/", manage.pin_key, name="host-pin"),
    path("metrics", metrics_view, name="metrics"),
]
