"""Which addresses an audit may connect to: CIDR allow and deny lists, checked on the address
actually connected to (after DNS resolution), so a name cannot be re-pointed past the check.

The most specific matching entry decides (deny wins a tie). An address no entry matches is
allowed only when the allow list is empty. By default loopback, link-local (the cloud metadata
services live there), "this network" and multicast are denied: a host address must not become a
way to probe the worker's own machine or its cloud account.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from workers.transports.base import TransportError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_DENY = (
    "127.0.0.0/8",
    "::1/128",
    "0.0.0.0/8",
    "::/128",
    "169.254.0.0/16",  # link-local, 169.254.169.254: AWS, GCP, Azure, OpenStack metadata
    "fe80::/10",
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "224.0.0.0/4",
    "ff00::/8",
)


class TargetForbidden(TransportError):
    """The address is outside what audits may reach (AUDIT_TARGET_ALLOW / AUDIT_TARGET_DENY)."""

    permanent = True


def parse_networks(entries: Iterable[str], *, setting: str) -> tuple[Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{setting}: {entry!r} is not an address or CIDR network") from None
    return tuple(networks)


@dataclass(frozen=True)
class AddressPolicy:
    """Allow and deny networks; `check(ip)` raises TargetForbidden for a refused address."""

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = parse_networks(DEFAULT_DENY, setting="default deny list")

    @classmethod
    def from_lists(cls, allow: Iterable[str], deny: Iterable[str]) -> AddressPolicy:
        return cls(
            parse_networks(allow, setting="AUDIT_TARGET_ALLOW"),
            parse_networks(deny, setting="AUDIT_TARGET_DENY"),
        )

    def allows(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("%eth0")
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
        best_allow = max((n.prefixlen for n in self.allow if ip in n), default=-1)
        best_deny = max((n.prefixlen for n in self.deny if ip in n), default=-1)
        if best_allow < 0 and best_deny < 0:
            return not self.allow
        return best_allow > best_deny

    def check(self, address: str, *, where: str) -> None:
        if not self.allows(address):
            raise TargetForbidden(f"{where}: address {address} is not allowed for audits")


def is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True
