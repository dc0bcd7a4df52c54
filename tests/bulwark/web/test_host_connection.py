"""'Test connection' on a real SSH test host: it logs in, shows the key the host presented,
and 'pin this key' stores exactly that key; a later test says the pin matched, and a wrong pin
is refused with the key actually seen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from bulwark.inventory import bindings
from bulwark.inventory.models import Credential, Group, Host, Membership, Role
from lab.harness import HostSpec, TestHost, TestHosts

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
pytest_plugins = ("tests.hosts.fixtures",)


@pytest.fixture(scope="module")
def target(test_hosts: TestHosts) -> Iterator[TestHost]:
    started = test_hosts.start(HostSpec("connect-me"))
    yield started
    started.stop()


@pytest.fixture
def admin_client(target: TestHost) -> tuple[Client, Host]:
    group = Group.objects.create(name="lab")
    user = get_user_model().objects.create_user("ada", password="pw-ada-0123")
    Membership.objects.create(user=user, group=group, role=Role.ADMIN)
    credential = Credential.objects.create(
        group=group, name="root-key", kind=Credential.Kind.SSH_KEY, username="root",
        secret=target.client_key,
    )  # fmt: skip
    host = Host.objects.create(
        name="connect-me", address=target.address, port=target.port, group=group,
        credential=credential,
    )  # fmt: skip
    client = Client()
    client.force_login(user)
    return client, host


def test_it_shows_the_host_key_and_pins_exactly_that(
    target: TestHost, admin_client: tuple[Client, Host]
) -> None:
    client, host = admin_client
    page = client.post(f"/manage/hosts/{host.pk}/test/", follow=True).content.decode()
    assert "logged in as root; no key pinned yet" in page
    assert target.host_key_line.split()[1] in page  # the key, shown for pinning
    assert 'id="pin-key"' in page
    Host.objects.filter(pk=host.pk).update(host_key="")  # nothing was stored by the test
    page = client.post(f"/manage/hosts/{host.pk}/pin/", follow=True).content.decode()
    assert "pinned" in page
    assert Host.objects.get(pk=host.pk).host_key == target.host_key_line
    page = client.post(f"/manage/hosts/{host.pk}/test/", follow=True).content.decode()
    assert "the pinned key matched" in page and 'id="key-pinned"' in page


def test_pinning_without_a_test_first_pins_nothing(admin_client: tuple[Client, Host]) -> None:
    client, host = admin_client
    page = client.post(f"/manage/hosts/{host.pk}/pin/", follow=True).content.decode()
    assert "Test the connection first" in page
    assert Host.objects.get(pk=host.pk).host_key == ""


def test_a_wrong_pin_is_refused_and_the_seen_key_shown(
    target: TestHost, admin_client: tuple[Client, Host]
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    client, host = admin_client
    other = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()  # fmt: skip
    Host.objects.filter(pk=host.pk).update(host_key=other)
    # As if that key had been pinned and confirmed earlier: the host's key has changed since.
    bindings.confirm(Host.objects.get(pk=host.pk))
    page = client.post(f"/manage/hosts/{host.pk}/test/", follow=True).content.decode()
    assert "CHANGED" in page and target.host_key_line.split()[1] in page
