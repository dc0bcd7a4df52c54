"""The web app's configuration."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    """Server-rendered pages and the per-user dashboard widgets."""

    name = "bulwark.web"
    label = "web"
    verbose_name = "Web pages"

    def ready(self) -> None:
        from bulwark.web import signals  # noqa: F401 - connects the receivers
