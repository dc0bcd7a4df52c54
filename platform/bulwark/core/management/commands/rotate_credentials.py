"""manage.py rotate_credentials: re-encrypt every stored secret with the newest key: the
EncryptedTextField values, and the raw tokens a model names in `encrypted_token_fields` (the
kept facts of policy previews), so the old key can be dropped without losing either."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from bulwark.core import crypto
from bulwark.core.fields import EncryptedTextField, Sealed


class Command(BaseCommand):
    help = (
        "Re-encrypt secrets with the first key of CREDENTIAL_KEYS; run after prepending a new "
        "key, then the old key can be dropped."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model in apps.get_models():
            names = [f.name for f in model._meta.fields if isinstance(f, EncryptedTextField)]
            tokens = list(getattr(model, "encrypted_token_fields", ()))
            if not names and not tokens:
                continue
            with transaction.atomic():
                rows = model._default_manager.select_for_update().only("pk", *names, *tokens)
                for row in rows:
                    for name in names:
                        value = getattr(row, name)
                        if isinstance(value, Sealed):
                            setattr(row, name, Sealed(crypto.rotate(value.token)))
                            total += 1
                    for name in tokens:
                        if getattr(row, name):
                            setattr(row, name, crypto.rotate(getattr(row, name)))
                            total += 1
                    row.save(update_fields=[*names, *tokens])
        self.stdout.write(f"{total} secret(s) re-encrypted with the newest key")
