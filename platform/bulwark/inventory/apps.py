"""The inventory app's configuration."""

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """Groups, hosts and credentials."""

    name = "bulwark.inventory"
    label = "inventory"
    verbose_name = "Inventory"
