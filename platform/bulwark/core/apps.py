"""The core app's configuration."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared pieces, and the security audit log."""

    name = "bulwark.core"
    label = "core"

    def ready(self) -> None:
        from bulwark.core import seclog  # noqa: F401 - connects the sign-in receivers
