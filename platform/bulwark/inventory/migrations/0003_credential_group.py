"""Credentials belong to a group (access control): existing ones join the group of a host that
uses them, else a group named "unassigned". Names are unique per group."""

import django.db.models.deletion
from django.db import migrations, models


def assign_groups(apps, schema_editor):  # type: ignore[no-untyped-def]
    Credential = apps.get_model("inventory", "Credential")
    Group = apps.get_model("inventory", "Group")
    Host = apps.get_model("inventory", "Host")
    fallback = None
    for credential in Credential.objects.filter(group__isnull=True):
        host = Host.objects.filter(credential=credential).order_by("pk").first()
        if host is None and credential.jump_host_id is not None:
            host = Host.objects.filter(pk=credential.jump_host_id).first()
        if host is not None:
            credential.group_id = host.group_id
        else:
            if fallback is None:
                fallback, _ = Group.objects.get_or_create(
                    name="unassigned",
                    defaults={"description": "credentials that no host used when groups came"},
                )
            credential.group_id = fallback.pk
        credential.save(update_fields=["group"])


class Migration(migrations.Migration):
    dependencies = [("inventory", "0002_membership")]

    operations = [
        migrations.AddField(
            model_name="credential",
            name="group",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credentials",
                to="inventory.group",
            ),
        ),
        migrations.RunPython(assign_groups, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="credential",
            name="group",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credentials",
                to="inventory.group",
            ),
        ),
        migrations.AlterField(
            model_name="credential", name="name", field=models.CharField(max_length=100)
        ),
        migrations.AlterModelOptions(name="credential", options={"ordering": ["group", "name"]}),
        migrations.AddConstraint(
            model_name="credential",
            constraint=models.UniqueConstraint(
                fields=("group", "name"), name="credential_name_per_group"
            ),
        ),
    ]
