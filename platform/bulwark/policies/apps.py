"""The policies app's configuration."""

from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """The check catalogue."""

    name = "bulwark.policies"
    label = "policies"
    verbose_name = "Policies"
