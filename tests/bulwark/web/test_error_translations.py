"""Audit errors, the 403 page and the sign-in lock-out page speak the reader's language.

The workers are Django-free: their failures are stored in English (the API, webhooks and logs
carry them so) and translated where they are shown, by kind (audits.reasons.translated)."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.utils import timezone, translation
from paramiko import ECDSAKey

from bulwark.audits import alerts, reasons
from bulwark.audits.models import AlertEvent, Audit, AuditStatus
from bulwark.inventory.connections import REFUSALS, ConnectionRefused
from bulwark.inventory.models import Host
from bulwark.web.models import Preference
from tests.bulwark.world import World
from workers.transports.base import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyUnknown,
    TransportTimeout,
    Unreachable,
)
from workers.transports.ssh import SSHTarget, SudoMode
from workers.transports.ssh_keys import verify_host_key
from workers.transports.winrm import WinRMTarget

VOCABULARY = [
    reasons.REFUSED,
    reasons.UNREACHABLE,
    reasons.TIMED_OUT,
    reasons.NOT_AUDITABLE,
    reasons.AUTH_FAILED,
    reasons.SUDO_REFUSED,
    reasons.CERTIFICATE,
    reasons.FORBIDDEN,
    reasons.CONNECTION_ERROR,
    reasons.NO_POLICIES,
    reasons.NOT_ASSIGNED,
]


def japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def test_every_reason_of_the_vocabulary_is_translated() -> None:
    for reason in VOCABULARY:
        with translation.override("en"):
            assert reasons.translated(reason) == reason
        with translation.override("ja"):
            assert japanese(reasons.translated(reason)), reason
    # Reasons with values: the values are kept, the words translated, nested reasons too.
    with translation.override("ja"):
        gave_up = reasons.translated(f"gave up after 3 attempts: {reasons.TIMED_OUT}")
        assert gave_up == "3 回試行して中止しました: タイムアウトしました"
        lost = reasons.translated("gave up after 5 attempts (worker lost or timed out)")
        assert lost.startswith("5 回") and japanese(lost)
        internal = reasons.translated("internal error (KeyError); see the worker log")
        assert "KeyError" in internal and japanese(internal)
        # A text Bulwark did not write (a policy's words, an older version's) is kept.
        assert reasons.translated("something else") == "something else"


def _key_line(key: ECDSAKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def test_the_workers_host_key_messages_are_translated() -> None:
    pinned, presented = ECDSAKey.generate(), ECDSAKey.generate()
    messages = []
    target = SSHTarget(host="10.77.0.9", password="x", host_key=_key_line(pinned))
    with pytest.raises(HostKeyChanged) as changed:
        verify_host_key(target, presented, "host")
    messages.append(str(changed.value))
    unpinned = SSHTarget(host="10.77.0.9", password="x")
    with pytest.raises(HostKeyUnknown) as unknown:
        verify_host_key(unpinned, presented, "host")
    messages.append(str(unknown.value))
    for message in messages:
        with translation.override("ja"):
            shown = reasons.translated(message)
        assert japanese(shown) and presented.fingerprint in shown and "10.77.0.9" in shown


def test_a_failures_kind_is_translated_for_test_connection() -> None:
    with translation.override("ja"):
        for exc in (
            AuthenticationFailed("10.77.0.9:22 refused our credentials (tried password)"),
            TransportTimeout("10.77.0.9:22 sent no SSH banner within 10 s"),
            Unreachable("cannot connect to 10.77.0.9:22: no route"),
            ConnectionRefused("host x: no credential"),
            HostKeyChanged("changed", expected="a", seen="b"),
        ):
            assert japanese(reasons.kind_of(exc)), exc


def _japanese_client(user: object) -> Client:
    Preference.objects.update_or_create(user=user, defaults={"language": "ja"})
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_host_pages_and_alerts_show_a_stored_error_in_japanese(world: World) -> None:
    host = world.a.host
    audit = Audit.objects.create(
        host=host,
        status=AuditStatus.ERROR,
        finished_at=timezone.now(),
        error_reason=f"gave up after 3 attempts: {reasons.UNREACHABLE}",
    )
    alerts.audit_failed(audit.pk)
    host.refresh_from_db()
    assert host.last_audit_error == audit.error_reason  # stored as said: English
    client = _japanese_client(world.users["a_admin"])
    detail = client.get(f"/hosts/{host.pk}/").content.decode()
    assert "ホストに到達できません" in detail and "host unreachable" not in detail
    listing = client.get("/hosts/?all=on").content.decode()
    assert "ホストに到達できません" in listing and "host unreachable" not in listing
    page = client.get("/alerts/").content.decode()
    assert "ホストに到達できません" in page and "host unreachable" not in page
    # The API and webhooks carry the stored English text.
    event = AlertEvent.objects.get(audit=audit)
    assert "host unreachable" in alerts.payload(event)["message"]
    # English readers read it as stored.
    Preference.objects.filter(user=world.users["a_admin"]).update(language="en")
    assert "host unreachable" in client.get(f"/hosts/{host.pk}/").content.decode()
    assert Host.objects.filter(pk=host.pk, last_audit_error__contains="unreachable").exists()


def test_the_403_page_is_translated(world: World) -> None:
    # A viewer may not acknowledge alerts (test_manage.py): the refusal is a page in Japanese.
    client = _japanese_client(world.users["a_viewer"])
    refused = client.post(f"/alerts/{world.a.alert.pk}/acknowledge/")
    assert refused.status_code == 403
    text = refused.content.decode()
    assert "許可されていません" in text
    english = Client()
    english.force_login(world.users["a_operator"])
    assert "Not allowed" in english.get(f"/manage/hosts/{world.a.host.pk}/").content.decode()


@override_settings(AXES_FAILURE_LIMIT=2)
def test_the_lock_out_page_is_translated(world: World) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    for _ in range(2):
        client.post("/login/", {"username": "nobody", "password": "wrong"})
    locked = client.post("/login/", {"username": "nobody", "password": "wrong"})
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "サインインがロックされました" in text and "Account locked" not in text
    english = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="127.0.0.7")
    for _ in range(3):
        answer = english.post("/login/", {"username": "nobody", "password": "wrong"})
    assert answer.status_code == 429 and "Sign-in locked" in answer.content.decode()


def _target_problems() -> list[str]:
    """The transport targets' own words about a bad field, as they raise them."""
    problems = []
    for make in (
        lambda: SSHTarget(host="10.77.0.9", port=70000, password="x"),
        lambda: SSHTarget(host="10.77.0.9"),
        lambda: SSHTarget(host="10.77.0.9", private_key="k", sudo=SudoMode.PASSWORD),
        lambda: SSHTarget(
            host="10.77.0.9", password="x", sudo=SudoMode.PASSWORD, sudo_password="a\nb"
        ),
        lambda: WinRMTarget(host="10.77.0.9", user="u", password="p", https=False),
        lambda: WinRMTarget(host="10.77.0.9", user="u", password=""),
        lambda: WinRMTarget(host="", user="u", password="p"),
    ):
        with pytest.raises(ValueError) as bad:
            make()
        problems.append(str(bad.value))
    return problems


def test_every_refusal_of_the_inventory_is_translated() -> None:
    values = {"host": "web 01", "credential": "ops-key"}
    stored = [REFUSALS[kind].format(**values) for kind in REFUSALS if kind != "invalid"] + [
        REFUSALS["invalid"].format(host="web 01", problem=p) for p in _target_problems()
    ]
    for reason in stored:
        with translation.override("en"):
            assert reasons.translated(reason) == reason
        with translation.override("ja"):
            shown = reasons.translated(reason)
        assert japanese(shown), reason
        assert ("web 01" in shown) or ("ops-key" in shown), shown
    # A text after "host NAME: " that is not one of the targets' own stays as stored.
    with translation.override("ja"):
        other = REFUSALS["invalid"].format(host="web 01", problem="said by somebody else")
        assert reasons.translated(other) == other


def test_test_connection_shows_the_inventorys_refusal_in_japanese(world: World) -> None:
    host = world.a.host
    Host.objects.filter(pk=host.pk).update(credential=None)
    client = _japanese_client(world.users["a_admin"])
    page = client.post(f"/manage/hosts/{host.pk}/test/", follow=True).content.decode()
    assert "has no credential" not in page
    assert f"ホスト {host.name} には資格情報がありません" in page


def test_confirming_a_credential_says_what_did_not_match_in_japanese(world: World) -> None:
    host = world.a.host
    client = _japanese_client(world.users["a_admin"])
    form = client.get(f"/manage/hosts/{host.pk}/").context["form"]
    # The form as shown (unticked boxes and empty values are not posted), with a wrong secret.
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data["confirm_secret"] = "not the stored secret"
    page = client.post(f"/manage/hosts/{host.pk}/", data, follow=True).content.decode()
    assert "does not match the stored value" not in page
    assert "保存されている値と一致しません" in page
