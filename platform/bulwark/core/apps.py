"""The core app's configuration."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared pieces: no models of its own."""

    name = "bulwark.core"
    label = "core"
