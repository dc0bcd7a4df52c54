"""Forms of the operator's pages (hosts, credentials, schedules): the models' own validation
(clean()), with every select limited to the groups where the user is an admin."""

from __future__ import annotations

from typing import Any

from django import forms

from bulwark.audits.models import Schedule
from bulwark.inventory.access import scope
from bulwark.inventory.forms import CredentialForm
from bulwark.inventory.models import Credential, Group, Host, Role


def _admin_scoped(form: forms.ModelForm, user: Any) -> None:  # type: ignore[type-arg]
    """Offer only what the user administers: a row of another group is never listed."""
    choices = {
        "group": (Group.objects.all(), "pk"),
        "credential": (Credential.objects.select_related("group"), "group"),
        "host": (Host.objects.select_related("group"), "group"),
        "jump_host": (Host.objects.select_related("group"), "group"),
    }
    for name, (queryset, path) in choices.items():
        if name in form.fields:
            field = form.fields[name]
            field.queryset = scope(queryset, user, path, at_least=Role.ADMIN)  # type: ignore[attr-defined]


class HostForm(forms.ModelForm):  # type: ignore[type-arg]
    """A host: where it is, how to reach it, which credential of its group logs in."""

    class Meta:
        model = Host
        fields = [
            "name",
            "group",
            "transport",
            "address",
            "port",
            "credential",
            "host_key",
            "trust_on_first_use",
            "winrm_auth",
            "winrm_allow_http",
            "ca_certificates",
            "warning_below",
            "critical_below",
        ]
        widgets = {
            "host_key": forms.Textarea(attrs={"rows": 2}),
            "ca_certificates": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _admin_scoped(self, user)


class CredentialPageForm(CredentialForm):
    """The admin's credential form (write-only secrets), scoped to the user's groups."""

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _admin_scoped(self, user)


class ScheduleForm(forms.ModelForm):  # type: ignore[type-arg]
    """Periodic audits of one host or of a whole group."""

    class Meta:
        model = Schedule
        fields = ["host", "group", "interval_days", "command_timeout", "enabled"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _admin_scoped(self, user)
        self.fields["host"].help_text = "one host, or leave empty and choose a group"
