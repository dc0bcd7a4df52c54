"""Credential encryption: MultiFernet over keys from CREDENTIAL_KEYS (never SECRET_KEY).

The first key encrypts, every key decrypts: rotate by prepending a new key and re-encrypting
(`manage.py rotate_credentials`). The embedded default generates one key into
CREDENTIAL_KEYS_FILE the first time a secret is encrypted or decrypted.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[tuple[str, ...], MultiFernet] = {}


class SecretUnreadable(Exception):
    """A stored secret does not decrypt with any configured key."""


def configured_keys() -> list[str]:
    """The keys in force, newest first; generates the embedded default's key if none is set."""
    keys = list(settings.CREDENTIAL_KEYS)
    if keys:
        return keys
    return _keys_file(Path(settings.CREDENTIAL_KEYS_FILE))


def _keys_file(path: Path) -> list[str]:
    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(Fernet.generate_key().decode() + "\n")
            log.warning(
                "CREDENTIAL_KEYS is not set: generated a credential key into %s. Back it up "
                "with the database, or set CREDENTIAL_KEYS (production must).",
                path,
            )
        keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise ImproperlyConfigured(f"{path} holds no credential key")
    return keys


def _fernet() -> MultiFernet:
    keys = tuple(configured_keys())
    fernet = _cache.get(keys)
    if fernet is None:
        try:
            fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise ImproperlyConfigured(
                "CREDENTIAL_KEYS: every key must be 32 url-safe base64-encoded bytes "
                "(python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from exc
        _cache[keys] = fernet
    return fernet


def encrypt(plaintext: str) -> str:
    """A Fernet token (text) for this secret, with the newest key."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret does not decrypt with any key of CREDENTIAL_KEYS"
        ) from None


def rotate(token: str) -> str:
    """The same secret re-encrypted with the newest key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a stored secret does not decrypt with any key of CREDENTIAL_KEYS"
        ) from None
