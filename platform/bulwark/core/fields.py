"""EncryptedTextField: a secret stored as a Fernet token, read back as a Sealed value.

Reading a row never decrypts: the attribute is a Sealed object whose repr and str are masked,
and only `.reveal()` gives the plaintext (the audit runner, building a connection). Assigning
a str stores it encrypted on save.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from bulwark.core import crypto


class Sealed:
    """An encrypted secret as stored; `reveal()` decrypts it."""

    __slots__ = ("token",)

    def __init__(self, token: str) -> None:
        self.token = token

    def reveal(self) -> str:
        return crypto.decrypt(self.token)

    def __repr__(self) -> str:
        return "<sealed secret>"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.token == self.token

    def __hash__(self) -> int:
        return hash(self.token)


def reveal(value: Sealed | str | None) -> str | None:
    """The plaintext of a field value (a str not yet saved is already plaintext); None if empty."""
    if isinstance(value, Sealed):
        return value.reveal()
    return value or None


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A TextField holding a Fernet token; empty means no secret. Never rendered in forms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Sealed | str:
        return Sealed(value) if value else ""

    def to_python(self, value: Any) -> Any:
        return value if isinstance(value, Sealed) else super().to_python(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if isinstance(value, str) and value:
            value = Sealed(crypto.encrypt(value))
            # The instance keeps only the sealed form once saved.
            setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Sealed):
            return value.token
        if value:
            # Lookups and queryset updates with plaintext: encrypt (tokens are never compared).
            return crypto.encrypt(str(value))
        return ""

    def value_to_string(self, obj: models.Model) -> str:
        # Serialization (dumpdata) carries the token, never the plaintext.
        value = self.value_from_object(obj)
        return value.token if isinstance(value, Sealed) else ""
