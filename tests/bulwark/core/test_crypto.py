"""Credential encryption at rest: no plaintext in the database, MultiFernet rotation."""

from __future__ import annotations

import io
import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from bulwark.core import crypto
from bulwark.core.fields import Sealed
from bulwark.inventory.models import Credential, Group

PASSWORD = "s3cr3t-Pa55word-for-tests"


def _group() -> Group:
    return Group.objects.get_or_create(name="servers")[0]


def _raw_secret(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM inventory_credential WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_the_raw_column_holds_a_token_not_the_plaintext() -> None:
    credential = Credential.objects.create(
        group=_group(), name="c", username="root", secret=PASSWORD
    )
    raw = _raw_secret(credential.pk)
    assert PASSWORD not in raw
    assert raw.startswith("gAAAA")  # a Fernet token
    assert crypto.decrypt(raw) == PASSWORD


@pytest.mark.django_db
def test_a_read_secret_stays_sealed_until_revealed() -> None:
    credential = Credential.objects.create(
        group=_group(), name="c", username="root", secret=PASSWORD
    )
    assert isinstance(credential.secret, Sealed)  # sealed on save, not only on load
    loaded = Credential.objects.get(pk=credential.pk)
    assert isinstance(loaded.secret, Sealed)
    for text in (repr(loaded.secret), str(loaded.secret), repr(loaded), str(vars(loaded))):
        assert PASSWORD not in text
    assert loaded.secret.reveal() == PASSWORD


@pytest.mark.django_db
def test_rotation_prepends_a_key_and_reencrypts_with_it() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(CREDENTIAL_KEYS=[old]):
        credential = Credential.objects.create(
            group=_group(), name="c", username="root", secret=PASSWORD
        )
    with override_settings(CREDENTIAL_KEYS=[new, old]):
        # Still readable with the old key listed second ...
        assert Credential.objects.get(pk=credential.pk).secret.reveal() == PASSWORD
        call_command("rotate_credentials", stdout=io.StringIO())
    # ... and after rotation the new key alone reads it.
    assert Fernet(new.encode()).decrypt(_raw_secret(credential.pk).encode()).decode() == PASSWORD
    with override_settings(CREDENTIAL_KEYS=[new]):
        assert Credential.objects.get(pk=credential.pk).secret.reveal() == PASSWORD
    with (
        override_settings(CREDENTIAL_KEYS=[Fernet.generate_key().decode()]),
        pytest.raises(crypto.SecretUnreadable),
    ):
        Credential.objects.get(pk=credential.pk).secret.reveal()


def test_the_embedded_default_generates_a_key_on_first_use(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys_file = tmp_path / "var" / "credential-keys"
    with override_settings(CREDENTIAL_KEYS=[], CREDENTIAL_KEYS_FILE=keys_file):
        assert not keys_file.exists()
        with caplog.at_level(logging.WARNING):
            token = crypto.encrypt(PASSWORD)
        assert keys_file.exists()
        assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
        assert "generated a credential key" in caplog.text
        assert crypto.decrypt(token) == PASSWORD  # the same key is read back
    key = keys_file.read_text().strip()
    assert Fernet(key.encode()).decrypt(token.encode()).decode() == PASSWORD


def test_a_malformed_key_is_a_configuration_error() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with (
        override_settings(CREDENTIAL_KEYS=["not-a-fernet-key"]),
        pytest.raises(ImproperlyConfigured, match="CREDENTIAL_KEYS"),
    ):
        crypto.encrypt(PASSWORD)


POLICY = """\
policy: {id: rotation_probe, file: rotation_probe.yml, name: Rotation probe, description: d}
checks:
  - id: 1
    title: sshd_config says no root login
    condition: all
    rules: ['f:/etc/ssh/sshd_config -> r:^PermitRootLogin no']
"""


@pytest.mark.django_db
def test_rotation_reencrypts_the_kept_facts_and_previews_still_work() -> None:
    from django.contrib.auth import get_user_model

    from bulwark.audits import kept_facts
    from bulwark.audits.models import Audit
    from bulwark.audits.preview import preview_sources
    from bulwark.inventory.models import Host
    from workers.engine.facts import Facts, FileFact, FileRequest, PathState

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    host = Host.objects.create(name="h", address="localhost", transport="local", group=_group())
    audit = Audit.objects.create(host=host, status="done")
    facts = Facts()
    facts.by_request[FileRequest("/etc/ssh/sshd_config", content=True)] = FileFact(
        PathState.REGULAR, b"PermitRootLogin no\n"
    )
    with override_settings(CREDENTIAL_KEYS=[old]):
        assert kept_facts.keep(audit.pk, host.pk, facts)
    root = get_user_model().objects.create_superuser("root", password="x-pass-Word")
    with override_settings(CREDENTIAL_KEYS=[new, old]):
        out = io.StringIO()
        call_command("rotate_credentials", stdout=out)
        assert "1 secret(s)" in out.getvalue()
    # The old key is gone: the kept facts still decrypt, and the preview still has them.
    with override_settings(CREDENTIAL_KEYS=[new]):
        [preview] = preview_sources(root, [("probe.yml", POLICY)])
        assert preview.kept and preview.counts["passed"] == 1, preview.as_dict()
    with override_settings(CREDENTIAL_KEYS=[old]):
        assert kept_facts.latest_for([host.pk]) == {}  # really re-encrypted, not left alone
