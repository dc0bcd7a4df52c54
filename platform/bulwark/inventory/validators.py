"""Field validation for the inventory: addresses, ports, thresholds, keys."""

from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def is_hostname_or_ip(value: str) -> bool:
    """An IPv4/IPv6 address or an RFC 1123 host name (letters, digits, hyphens, dots)."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253:
        return False
    return all(_LABEL.match(label) for label in name.split("."))


def validate_address(value: str) -> None:
    if not is_hostname_or_ip(value):
        raise ValidationError(
            "%(value)s is not a host name or an IP address", code="address", params={"value": value}
        )


def validate_percent(value: float) -> None:
    if not 0 <= value <= 100:
        raise ValidationError("must be between 0 and 100", code="percent")


def looks_like_private_key(text: str) -> bool:
    return "-----BEGIN" in text and "PRIVATE KEY-----" in text


# A zone names a Celery queue (zone.NAME) and a worker's --zone: keep it to safe characters.
_ZONE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$")


def validate_zone(value: str) -> None:
    if not _ZONE.match(value):
        raise ValidationError(
            "%(value)s is not a zone name: lower-case letters, digits, '-' and '_', "
            "at most 63, starting and ending with a letter or digit",
            code="zone",
            params={"value": value},
        )
