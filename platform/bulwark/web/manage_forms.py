"""Forms of the operator's pages (hosts, credentials, schedules): the models' own validation
(clean()), with every select limited to the groups where the user is an admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bulwark.audits.models import Schedule
from bulwark.inventory.access import scope
from bulwark.inventory.forms import CredentialForm
from bulwark.inventory.models import Credential, Group, Host, Role
from bulwark.web import host_picker


def _admin_scoped(form: forms.ModelForm, user: Any) -> None:  # type: ignore[type-arg]
    """Offer only what the user administers: a row of another group is never listed. Hosts
    are listed up to host_picker.LIST_LIMIT, typed by name beyond."""
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
            if queryset.model is Host:
                form.fields[name] = host_picker.listed_or_typed(form.fields[name])


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

    # A credential's secrets go only where someone who may set them confirmed they may go
    # (inventory/bindings.py, docs/security.md): a group admin who gives a host a credential, or
    # changes where the host points, re-enters the credential's stored secrets here.
    confirm_secret = forms.CharField(
        label=_("Confirm the credential's secret"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text=_(
            "re-enter the credential's private key or password to let this host use it "
            "(needed after choosing a credential or changing where the host points)"
        ),
    )
    confirm_passphrase = forms.CharField(
        label=_("Confirm the key passphrase"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
    )
    confirm_sudo_password = forms.CharField(
        label=_("Confirm the sudo password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _admin_scoped(self, user)

    def confirmation(self) -> dict[str, str]:
        """The secrets re-entered (by model field name); empty when none was."""
        given = {
            name: self.cleaned_data.get(f"confirm_{name}") or ""
            for name in ("secret", "passphrase", "sudo_password")
        }
        return given if any(given.values()) else {}


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
        self.fields["host"].help_text = _("one host, or leave empty and choose a group")
        _admin_scoped(self, user)
