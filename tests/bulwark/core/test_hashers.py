"""The suite hashes its users' passwords with a fast hasher (tests/bulwark/conftest.py); the
product must not: its settings keep Django's default, a slow key-derivation function."""

from __future__ import annotations

import importlib

from django.conf import global_settings

SLOW_HASHERS = (
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
)


def test_the_product_hashes_passwords_with_a_slow_key_derivation_function() -> None:
    product = importlib.import_module("bulwark.settings")
    hashers = getattr(product, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)
    assert hashers[0] in SLOW_HASHERS
    assert not any("MD5" in hasher or "Unsalted" in hasher for hasher in hashers)
