"""AddressPolicy: most specific entry decides, deny wins a tie, an allow list closes the rest."""

from __future__ import annotations

import pytest

from workers.transports.address_policy import AddressPolicy


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.9.9.9",
        "::1",
        "::ffff:127.0.0.1",
        "169.254.169.254",
        "fe80::1%eth0",
        "0.0.0.0",  # noqa: S104 - an address refused, not bound
        "fd00:ec2::254",
        "224.0.0.1",
    ],
)
def test_the_default_denies_loopback_link_local_and_metadata(address: str) -> None:
    assert not AddressPolicy().allows(address)


def test_the_default_allows_ordinary_addresses() -> None:
    assert all(AddressPolicy().allows(a) for a in ("10.77.0.2", "192.0.2.7", "2001:db8::1"))


def test_the_most_specific_entry_decides_and_deny_wins_a_tie() -> None:
    policy = AddressPolicy.from_lists(["127.0.0.1/32", "0.0.0.0/0"], ["127.0.0.0/8"])
    assert policy.allows("127.0.0.1") and not policy.allows("127.0.0.2")
    tie = AddressPolicy.from_lists(["127.0.0.0/8"], ["127.0.0.0/8"])
    assert not tie.allows("127.0.0.1")


def test_an_allow_list_refuses_what_it_does_not_cover() -> None:
    policy = AddressPolicy.from_lists(["10.77.0.0/16"], [])
    assert policy.allows("10.77.3.4") and not policy.allows("10.78.0.1")


def test_a_malformed_entry_names_the_setting() -> None:
    with pytest.raises(ValueError, match="AUDIT_TARGET_DENY: 'nope'"):
        AddressPolicy.from_lists([], ["nope"])
