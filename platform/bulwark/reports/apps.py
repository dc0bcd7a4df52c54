"""The reports app's configuration."""

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Report queries, the aggregates they read, report documents and metrics."""

    name = "bulwark.reports"
    label = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from bulwark.reports import signals  # noqa: F401 - connects the receivers
