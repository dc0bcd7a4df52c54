"""The audits app's configuration."""

from django.apps import AppConfig


class AuditsConfig(AppConfig):
    """Audits, results, schedules and alerts."""

    name = "bulwark.audits"
    label = "audits"
    verbose_name = "Audits"

    def ready(self) -> None:
        from bulwark.audits import checks, heartbeats, signals  # noqa: F401 - connects the receivers, registers the checks
