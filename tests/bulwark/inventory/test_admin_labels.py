"""The admin is Bulwark's, with readable labels and help texts that state the defaults."""

from __future__ import annotations

from django.test import Client

from bulwark.inventory.models import Group, Host


def test_the_admin_is_titled_bulwark_administration(admin_client: Client) -> None:
    body = admin_client.get("/admin/").content.decode()
    assert "Bulwark administration" in body and "Django administration" not in body


def test_labels_are_readable_and_help_texts_state_defaults() -> None:
    host = Host._meta
    assert host.get_field("winrm_auth").verbose_name == "WinRM authentication"
    assert host.get_field("ca_certificates").verbose_name == "CA certificates"
    assert "default 22" in host.get_field("port").help_text
    assert "default 80" in Group._meta.get_field("warning_below").help_text
    assert "default 50" in Group._meta.get_field("critical_below").help_text
    for model in (Group, Host):
        for field in model._meta.get_fields():
            assert getattr(field, "help_text", "") != "empty: the default", (model, field.name)
