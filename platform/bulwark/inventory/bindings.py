"""Where a credential's secrets may be sent: the destinations they were confirmed for.

A group admin can change a host's address or port, but must not be able to read back a
password someone else entered by pointing the host at a listener of theirs. So each
(credential, host) pair carries a binding: a digest of everything that decides where the
secrets go (transport, address, port, WinRM options, pinned keys, the jump host's own
destination). The worker releases the secrets only when the host's current digest is the
bound one. A binding is made by whoever proves they may send the secrets there anyway:
- someone entering all of the credential's secrets (they know them: binds its current hosts);
- a trusted actor (a superuser, or a command/shell run with the credential keys at hand)
  creating a host or changing its destination;
- a group admin re-entering the stored secrets for one host (`confirm_with_secrets`).
Any other change of destination leaves the old binding behind: the audit is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from bulwark.core import actor, seclog
from bulwark.core.fields import reveal

SECRET_FIELDS = ("secret", "passphrase", "sudo_password")


def destination(host: Any) -> str:
    """A digest of where `host`'s credential would send its secrets (works on historical
    models too: it only reads fields)."""
    credential = host.credential if host.credential_id else None
    parts: list[Any] = [_own_destination(host), getattr(credential, "kind", None)]
    jump = credential.jump_host if credential is not None and credential.jump_host_id else None
    parts.append(None if jump is None else [jump.pk, _own_destination(jump)])
    text = json.dumps(parts, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _own_destination(host: Any) -> list[Any]:
    return [
        host.transport,
        host.address.strip().lower(),
        host.port,
        host.winrm_auth,
        host.winrm_allow_http,
        host.ca_certificates.strip(),
        # With trust on first use the pin is whatever the worker meets first (store.py records
        # it): confirming "TOFU" covers that later pin, which is no weaker. Without it, the
        # exact pin is part of where the secrets go.
        "tofu" if host.trust_on_first_use else host.host_key.strip(),
    ]


def is_bound(host: Any) -> bool:
    """Whether `host`'s credential may be used at the host's current destination."""
    from bulwark.inventory.models import CredentialBinding

    if not host.credential_id:
        return True  # local hosts carry no secret
    bound = CredentialBinding.objects.filter(
        credential_id=host.credential_id, host_id=host.pk
    ).values_list("destination", flat=True)
    return any(hmac.compare_digest(d, destination(host)) for d in bound)


def confirm(host: Any, *, by: Any | None = None) -> None:
    """Bind the host's credential to the host's current destination."""
    from bulwark.inventory.models import CredentialBinding

    if not host.credential_id or host.pk is None:
        return
    user = by if by is not None and getattr(by, "is_authenticated", False) else None
    CredentialBinding.objects.update_or_create(
        credential_id=host.credential_id,
        host_id=host.pk,
        defaults={"destination": destination(host), "confirmed_by": user},
    )
    seclog.record("credential.bound", f"{host.group_id}/{host.name}", user=by)


def host_saved(host: Any, before: str | None) -> None:
    """After a Host save: a trusted actor creating a host, or changing where it points, confirms
    the new destination. `before` is the stored digest before the save (None: created)."""
    if actor.is_trusted() and (before is None or before != destination(host)):
        confirm(host, by=actor.current_user())


def credential_saved(credential: Any, entered: set[str]) -> None:
    """After a Credential save: when every stored secret was just entered (`entered` holds the
    fields given in clear), whoever entered them may send them to the credential's hosts."""
    stored = {name for name in SECRET_FIELDS if getattr(credential, name)}
    if not stored or not stored <= entered:
        return
    for host in credential.hosts.select_related("credential__jump_host"):
        confirm(host, by=actor.current_user())


def confirm_with_secrets(host: Any, user: Any, given: dict[str, str]) -> None:
    """Bind for a group admin who re-enters the host credential's stored secrets (a superuser
    needs none). Raises ValidationError naming the field that does not match."""
    credential = host.credential
    if credential is None:
        raise ValidationError({"credential": _("this host has no credential to confirm")})
    if not user.is_superuser:
        errors = {}
        for name in SECRET_FIELDS:
            stored = reveal(getattr(credential, name))
            if stored is None:
                continue
            offered = given.get(name) or ""
            if not hmac.compare_digest(offered.encode(), stored.encode()):
                errors[name] = _("does not match the stored value: re-enter it")
        if errors:
            raise ValidationError(errors)
    confirm(host, by=user)
