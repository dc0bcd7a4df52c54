"""Model validation (clean()) of hosts, groups and credentials; thresholds inheritance."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError

from bulwark.inventory.models import Credential, Group, Host
from bulwark.inventory.validators import is_hostname_or_ip

KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "::1", "fe80::1", "web-01", "web-01.example.com", "db.example.com."]
)
def test_hostnames_and_ip_addresses_are_addresses(address: str) -> None:
    assert is_hostname_or_ip(address)


@pytest.mark.parametrize(
    "address", ["", "not a host", "-web", "web-", "a..b", "x" * 64, "web_01", "10.0.0.5; rm -rf /"]
)
def test_anything_else_is_not_an_address(address: str) -> None:
    assert not is_hostname_or_ip(address)


def _errors(instance: Host | Credential | Group) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


@pytest.mark.django_db
def test_a_bad_address_or_port_is_refused_naming_the_field(
    group: Group, make_credential: Callable[..., Credential]
) -> None:
    credential = make_credential()
    host = Host(name="h", address="bad host!", port=22, group=group, credential=credential)
    assert "address" in _errors(host)
    for port in (0, 65536):
        host = Host(name="h", address="10.0.0.1", port=port, group=group, credential=credential)
        assert "port" in _errors(host)
    Host(name="h", address="10.0.0.1", port=65535, group=group, credential=credential).full_clean()


@pytest.mark.django_db
def test_the_credential_must_fit_the_transport(
    group: Group, make_credential: Callable[..., Credential]
) -> None:
    ssh = make_credential()
    winrm = make_credential(kind=Credential.Kind.WINRM, username="Administrator")
    assert "credential" in _errors(Host(name="a", address="h", group=group))
    assert "credential" in _errors(Host(name="a", address="h", group=group, credential=winrm))
    windows = Host(name="w", address="h", port=5986, transport="winrm", group=group, credential=ssh)
    assert "credential" in _errors(windows)
    local = Host(name="l", address="localhost", transport="local", group=group, credential=ssh)
    assert "credential" in _errors(local)
    Host(name="l", address="localhost", transport="local", group=group).full_clean()


@pytest.mark.django_db
def test_thresholds_come_from_the_host_then_the_group_then_the_settings(
    settings: object, group: Group
) -> None:
    host = Host.objects.create(name="h", address="localhost", transport="local", group=group)
    assert host.thresholds() == (80.0, 50.0)
    group.warning_below, group.critical_below = 90, 60
    assert host.thresholds() == (90.0, 60.0)
    host.critical_below = 30
    assert host.thresholds() == (90.0, 30.0)
    host.warning_below, host.critical_below = 40, 70
    assert "critical_below" in _errors(host)
    group.warning_below = 120
    assert "warning_below" in _errors(group)


@pytest.mark.django_db
def test_a_credential_is_checked_for_what_its_kind_needs(group: Group) -> None:
    not_a_key = Credential(group=group, name="k", kind="ssh-key", username="root", secret="pw")
    assert "secret" in _errors(not_a_key)
    assert "secret" in _errors(Credential(group=group, name="k", kind="ssh-key", username="root"))
    sudo = Credential(
        group=group, name="k", kind="ssh-key", username="u", secret=KEY, sudo_mode="password"
    )
    assert "sudo_password" in _errors(sudo)
    sudo.sudo_password = "sudo-pw"
    sudo.full_clean()
    winrm = Credential(
        group=group, name="w", kind="winrm", username="a", secret="pw", sudo_mode="nopasswd"
    )
    assert "sudo_mode" in _errors(winrm)
    assert "group" in _errors(Credential(name="g", kind="ssh-password", username="u", secret="p"))


@pytest.mark.django_db
def test_a_host_uses_only_a_credential_of_its_own_group(
    group: Group, make_credential: Callable[..., Credential]
) -> None:
    other = Group.objects.create(name="other")
    theirs = make_credential(group=other)
    host = Host(name="h", address="10.0.0.1", group=group, credential=theirs)
    assert _errors(host)["credential"] == ["the credential must belong to the host's group"]
    host.credential = make_credential()
    host.full_clean()
    # Names are unique per group, not across groups.
    make_credential(name="root", group=group)
    make_credential(name="root", group=other)
    assert "__all__" in _errors(
        Credential(group=group, name="root", kind="ssh-password", username="u", secret="pw")
    )


@pytest.mark.django_db
def test_a_jump_host_must_be_a_direct_ssh_host(
    group: Group, make_credential: Callable[..., Credential]
) -> None:
    bastion_credential = make_credential()
    bastion = Host.objects.create(
        name="bastion", address="10.0.0.1", group=group, credential=bastion_credential
    )
    inner = make_credential(jump_host=bastion)
    assert inner.jump_host == bastion
    behind = Host.objects.create(name="behind", address="10.0.0.2", group=group, credential=inner)
    # A credential cannot go through a host that itself needs a jump.
    assert "jump_host" in _errors(
        Credential(
            group=group, name="x", kind="ssh-password", username="u", secret="pw", jump_host=behind
        )
    )
    local = Host.objects.create(name="l", address="localhost", transport="local", group=group)
    assert "jump_host" in _errors(
        Credential(
            group=group, name="y", kind="ssh-password", username="u", secret="pw", jump_host=local
        )
    )
    elsewhere = Group.objects.create(name="elsewhere")
    errors = _errors(
        Credential(
            group=elsewhere,
            name="z",
            kind="ssh-password",
            username="u",
            secret="p",
            jump_host=bastion,
        )
    )
    assert errors["jump_host"] == ["the jump host must be in the credential's group"]
