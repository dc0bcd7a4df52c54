"""Finding: sign-in accepted unlimited wrong passwords and any password. Now failures lock out
(username, address) and the address for a while, never a real admin elsewhere or forever;
passwords are validated; the API has request budgets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import UserRateThrottle

PASSWORD = "correct-Horse-battery-9"
ATTACKER, ADMIN_DESK = "10.77.66.6", "10.77.1.1"


@pytest.fixture
def root(db: None) -> object:
    return get_user_model().objects.create_superuser("root", password=PASSWORD)


def _token(password: str, ip: str, username: str = "root") -> int:
    answer = APIClient().post(
        "/api/auth/token/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )
    return answer.status_code


def test_the_token_endpoint_locks_out_the_attackers_address_only(root: object) -> None:
    assert [_token(f"guess-{i}", ATTACKER) for i in range(5)] == [400] * 5
    assert _token(PASSWORD, ATTACKER) != 200  # even the right password, from there
    assert _token(PASSWORD, ADMIN_DESK) == 200  # the real admin, elsewhere, gets in


def test_a_lock_out_expires(root: object) -> None:
    for i in range(5):
        _token(f"guess-{i}", ATTACKER)
    assert _token(PASSWORD, ATTACKER) != 200
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert _token(PASSWORD, ATTACKER) == 200


def test_spraying_usernames_from_one_address_is_locked_out_too(root: object) -> None:
    for name in ("alice", "bob", "carol", "dave", "erin"):
        _token("Winter2026!", ATTACKER, username=name)
    assert _token(PASSWORD, ATTACKER) != 200


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_the_page_and_admin_logins_lock_out_too(root: object, url: str) -> None:
    client = Client(REMOTE_ADDR=ATTACKER)
    for i in range(5):
        client.post(url, {"username": "root", "password": f"guess-{i}"})
    locked = client.post(url, {"username": "root", "password": PASSWORD})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    desk = Client(REMOTE_ADDR=ADMIN_DESK)
    assert desk.post(url, {"username": "root", "password": PASSWORD}).status_code == 302


@pytest.mark.parametrize("weak", ["a", "password123", "12345678901234", "rootroot"])
def test_weak_passwords_are_refused(root: object, weak: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(weak, user=root)  # type: ignore[arg-type]
    validate_password("long-Unusual-passphrase-42", user=root)  # type: ignore[arg-type]


def test_api_requests_have_a_budget(root: object, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.clear()
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})
    client = APIClient()
    client.force_authenticate(root)  # type: ignore[arg-type]
    codes = [client.get("/api/hosts/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    cache.clear()
