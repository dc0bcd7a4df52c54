"""The inventory app's configuration."""

from django.apps import AppConfig


class InventoryConfig(AppConfig):
    """Groups, hosts and credentials."""

    name = "bulwark.inventory"
    label = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from bulwark.core import seclog
        from bulwark.inventory.models import Membership

        def saved(sender: type, instance: Membership, created: bool, **kwargs: object) -> None:
            kind = "membership.added" if created else "membership.changed"
            seclog.record(
                kind, f"{instance.group_id}/{instance.user}", detail={"role": instance.role}
            )

        def deleted(sender: type, instance: Membership, **kwargs: object) -> None:
            seclog.record("membership.removed", f"{instance.group_id}/{instance.user}")

        post_save.connect(saved, sender=Membership, weak=False)
        post_delete.connect(deleted, sender=Membership, weak=False)
