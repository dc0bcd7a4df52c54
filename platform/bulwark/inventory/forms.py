"""The credential form: secrets are write-only (never rendered back, blank keeps them)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from bulwark.inventory.models import Credential

SECRET_FIELDS = ("secret", "passphrase", "sudo_password")


class CredentialForm(forms.ModelForm):  # type: ignore[type-arg]
    """Takes new secret values; shows only whether one is set."""

    new_secret = forms.CharField(
        label=_("Secret"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}),
        help_text=_("private key or password; leave blank to keep the stored one"),
    )
    new_passphrase = forms.CharField(
        label=_("Key passphrase"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("leave blank to keep the stored one"),
    )
    new_sudo_password = forms.CharField(
        label=_("Sudo password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("leave blank to keep the stored one (empty: the login password)"),
    )
    clear_passphrase = forms.BooleanField(label=_("Clear the passphrase"), required=False)
    clear_sudo_password = forms.BooleanField(label=_("Clear the sudo password"), required=False)

    class Meta:
        model = Credential
        fields = ["group", "name", "kind", "username", "sudo_mode", "jump_host"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Widgets never carry initial data for secrets, even if someone sets it.
        for name in ("new_secret", "new_passphrase", "new_sudo_password"):
            self.fields[name].initial = None

    def _post_clean(self) -> None:
        # Put the entered secrets on the instance before the model's clean() validates it.
        data = self.cleaned_data
        instance = self.instance
        if data.get("new_secret"):
            instance.secret = data["new_secret"]
        for name in ("passphrase", "sudo_password"):
            if data.get(f"clear_{name}"):
                setattr(instance, name, "")
            elif data.get(f"new_{name}"):
                setattr(instance, name, data[f"new_{name}"])
        super()._post_clean()

    def _update_errors(self, errors: ValidationError) -> None:
        # The model names its secret fields; this form shows them as new_<name>.
        if hasattr(errors, "error_dict"):
            errors = ValidationError(
                {
                    (f"new_{name}" if name in SECRET_FIELDS else name): messages
                    for name, messages in errors.error_dict.items()
                }
            )
        super()._update_errors(errors)
