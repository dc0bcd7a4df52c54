"""Routes of the pages (mounted at the site root) and /metrics."""

from django.contrib.auth import views as auth_views
from django.urls import path

from bulwark.reports.metrics import metrics_view
from bulwark.web import sso
from bulwark.web.views import (
    alerts,
    dashboard,
    exceptions,
    groups,
    hosts,
    imports,
    manage,
    policies,
    preferences,
    progress,
    zones,
)

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", sso.SignInPage.as_view(), name="login"),
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
    path("exceptions/", exceptions.exception_list, name="exceptions"),
    path("exceptions/<int:pk>/", exceptions.exception_detail, name="exception"),
    path("exceptions/<int:pk>/approve/", exceptions.approve_exception, name="exception-approve"),
    path("exceptions/<int:pk>/revoke/", exceptions.revoke_from_list, name="exception-revoke"),
    path("manage/import/", imports.import_hosts, name="import-hosts"),
    path("manage/groups/", groups.group_list, name="groups"),
    path("manage/groups/new/", groups.group_edit, name="group-new"),
    path("manage/groups/<int:pk>/", groups.group_edit, name="group"),
    path("manage/groups/<int:pk>/members/", groups.member_add, name="member-add"),
    path("manage/groups/<int:pk>/members/<int:member_pk>/", groups.member_change, name="member"),
    path("manage/policies/", policies.policy_list, name="policies"),
    path("manage/policies/<int:pk>/enable/", policies.policy_enable, name="policy-enable"),
    path("manage/assignments/new/", policies.assignment_edit, name="assignment-new"),
    path("manage/assignments/<int:pk>/", policies.assignment_edit, name="assignment"),
    path(
        "manage/assignments/<int:pk>/delete/",
        policies.assignment_delete,
        name="assignment-delete",
    ),
    path("manage/<str:kind_name>/", manage.manage_list, name="manage"),
    path("manage/<str:kind_name>/new/", manage.manage_edit, name="manage-new"),
    path("manage/<str:kind_name>/<int:pk>/", manage.manage_edit, name="manage-edit"),
    path("manage/<str:kind_name>/<int:pk>/delete/", manage.manage_delete, name="manage-delete"),
    path("manage/hosts/<int:pk>/test/", manage.test_connection, name="host-test"),
    path("manage/hosts/<int:pk>/pin/", manage.pin_key, name="host-pin"),
    path("metrics", metrics_view, name="metrics"),
]
