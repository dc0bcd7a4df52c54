"""Single sign-on through OpenID Connect, against a real provider on loopback
(tests/bulwark/web/oidc_provider.py): discovery, authorization with a password, the token
endpoint with a signed ID token, JWKS and userinfo. A person signs in; a wrong password is
refused; someone without the mapped group gets nothing; provider groups map to superuser and
memberships; and django-axes' lock-out holds for SSO sign-ins as for passwords."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from bulwark.core.models import SecurityEvent
from bulwark.inventory.models import Group, Membership, Role
from bulwark.web import sso
from tests.bulwark.web.oidc_provider import Person, Provider, running

CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture
def provider(db: None) -> Iterator[Provider]:
    people = {
        "alice": Person(
            "alice-Pass-123",
            {
                "sub": "u-1001",
                "preferred_username": "alice",
                "email": "alice@example.org",
                "groups": ["bulwark-users", "bulwark-admins"],
            },
        ),
        "bob": Person(
            "bob-Pass-12345",
            {
                "sub": "u-1002",
                "preferred_username": "bob",
                "email": "bob@example.org",
                "groups": ["bulwark-users", "bulwark:group-a:viewer", "bulwark:nope:admin"],
            },
        ),
        "mallory": Person(
            "mallory-Pass-1",
            {"sub": "u-1003", "preferred_username": "mallory", "groups": ["contractors"]},
        ),
        # Claims a local account's name (and address): must not take it over.
        "root": Person(
            "root-Pass-1234",
            {"sub": "u-1004", "preferred_username": "root", "groups": ["bulwark-users"]},
        ),
    }
    with running(Provider("bulwark", "s3cret-client", CALLBACK, people)) as op:
        sso.discovery.cache_clear()
        with override_settings(
            OIDC_ENABLED=True,
            AUTHENTICATION_BACKENDS=[
                "bulwark.core.signin.LockoutBackend",
                "django.contrib.auth.backends.ModelBackend",
                "bulwark.web.sso.OIDCBackend",
            ],
            OIDC_DISCOVERY_URL=op.discovery_url(),
            OIDC_RP_CLIENT_ID="bulwark",
            OIDC_RP_CLIENT_SECRET="s3cret-client",
            OIDC_REQUIRED_GROUP="bulwark-users",
            OIDC_SUPERUSER_GROUP="bulwark-admins",
            OIDC_MEMBERSHIP_PREFIX="bulwark:",
            OIDC_USERNAME_PREFIX="sso-",
        ):
            yield op
        sso.discovery.cache_clear()


def sign_in(client: Client, username: str, password: str) -> str:
    """Go through the provider as a browser would; returns where Bulwark finally sends it."""
    start = client.get("/oidc/authenticate/")
    assert start.status_code == 302, start
    authorize = start["Location"]
    page = requests.get(authorize, timeout=10)  # the provider's sign-in form
    assert page.status_code == 200 and "password" in page.text
    query = dict(part.split("=", 1) for part in urlsplit(authorize).query.split("&"))
    from urllib.parse import unquote_plus

    form = {k: unquote_plus(v) for k, v in query.items()}
    answer = requests.post(
        authorize.split("?")[0],
        data={**form, "username": username, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 302:
        return f"provider said {answer.status_code}"
    back = urlsplit(answer.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    done = client.get(back.path, dict(p.split("=", 1) for p in back.query.split("&")))
    if done.status_code == 429:
        return "locked out"  # django-axes
    assert done.status_code == 302, done
    return str(done["Location"])


def signed_in_as(client: Client) -> str:
    response = client.get("/api/groups/")
    if response.status_code != 200:
        return ""
    return str(client.session.get("_auth_user_id", ""))


@pytest.mark.django_db
def test_sign_in_through_the_provider_maps_groups(provider: Provider, world: object) -> None:
    client = Client()
    assert "oidc/authenticate" in client.get("/login/").content.decode()  # the page offers it
    assert sign_in(client, "alice", "alice-Pass-123") == "/"
    alice = get_user_model().objects.get(username="sso-alice")
    assert signed_in_as(client) == str(alice.pk)
    assert alice.is_superuser and not alice.has_usable_password()
    assert alice.email == "alice@example.org"
    # The real protocol went over the wire: discovery, token, JWKS and userinfo.
    for step in (
        "GET /.well-known/openid-configuration",
        "POST /token",
        "GET /jwks",
        "GET /userinfo",
    ):
        assert step in provider.seen, provider.seen
    # Bob: not a superuser; his "bulwark:GROUP:ROLE" claims are his memberships (an unknown
    # group is ignored), synced at each sign-in.
    bob_client = Client()
    assert sign_in(bob_client, "bob", "bob-Pass-12345") == "/"
    bob = get_user_model().objects.get(username="sso-bob")
    assert not bob.is_superuser
    assert list(Membership.objects.filter(user=bob).values_list("group__name", "role")) == [
        ("group-a", Role.VIEWER)
    ]
    ids = {row["id"] for row in bob_client.get("/api/groups/").json()["results"]}
    assert ids == {Group.objects.get(name="group-a").pk}
    provider.people["bob"].claims["groups"] = ["bulwark-users", "bulwark:group-b:operator"]
    assert sign_in(Client(), "bob", "bob-Pass-12345") == "/"
    assert list(Membership.objects.filter(user=bob).values_list("group__name", "role")) == [
        ("group-b", Role.OPERATOR)
    ]


@pytest.mark.django_db
def test_wrong_password_missing_group_and_a_local_name_get_nothing(
    provider: Provider, world: object
) -> None:
    users = get_user_model().objects
    client = Client()
    # A wrong password stops at the provider: no code, no account, not signed in.
    assert sign_in(client, "alice", "wrong-password") == "provider said 401"
    assert not users.filter(username="sso-alice").exists() and signed_in_as(client) == ""
    # Mallory authenticates at the provider but lacks the required group: refused here.
    assert sign_in(client, "mallory", "mallory-Pass-1") == "/login/?sso=failed"
    assert signed_in_as(client) == "" and not users.filter(username="sso-mallory").exists()
    assert SecurityEvent.objects.filter(kind="signin.sso_refused", target="sso-mallory").exists()
    assert "did not sign you in" in client.get("/login/?sso=failed").content.decode()
    # A provider account named like a local superuser lands on its own account, never root's.
    assert sign_in(client, "root", "root-Pass-1234") == "/"
    assert client.session["_auth_user_id"] == str(users.get(username="sso-root").pk)
    assert not users.get(username="sso-root").is_superuser
    # And a local account that happens to have the mapped name is not taken over either.
    users.create_user("sso-alice", password="local-Pass-1234")
    other = Client()
    assert sign_in(other, "alice", "alice-Pass-123") == "/login/?sso=failed"
    assert signed_in_as(other) == ""


@pytest.mark.django_db
def test_an_id_token_for_another_client_is_refused(provider: Provider, world: object) -> None:
    provider.audience = "some-other-app"
    client = Client()
    assert sign_in(client, "alice", "alice-Pass-123") == "/login/?sso=failed"
    assert signed_in_as(client) == ""


@pytest.mark.django_db
@override_settings(AXES_FAILURE_LIMIT=3)
def test_sso_sign_ins_count_and_obey_the_lock_out(provider: Provider, world: object) -> None:
    # Refused SSO sign-ins count as failed sign-ins of the address...
    answers = [sign_in(Client(), "mallory", "mallory-Pass-1") for _ in range(3)]
    assert answers == ["/login/?sso=failed", "/login/?sso=failed", "locked out"]
    # ...so the address is locked: even the right local password is refused now,
    local = Client()
    password = local.post("/login/", {"username": "a_admin", "password": "pass-Word"})
    assert password.status_code == 429 and "_auth_user_id" not in local.session
    # and so is a valid SSO sign-in from it.
    client = Client()
    assert sign_in(client, "alice", "alice-Pass-123") == "locked out"
    assert signed_in_as(client) == ""
    # From another address, SSO works (the lock is per address, not per provider).
    elsewhere = Client(REMOTE_ADDR="127.0.0.9")
    assert sign_in(elsewhere, "alice", "alice-Pass-123") == "/"
    assert signed_in_as(elsewhere) != ""


@pytest.mark.django_db
def test_sso_is_off_by_default(world: object) -> None:
    client = Client()
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=x&state=y").status_code == 404
    assert "oidc/authenticate" not in client.get("/login/").content.decode()
