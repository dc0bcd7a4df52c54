"""Turn a Host row into a live workers Transport: the one place credentials are decrypted.

The plaintext lives only in the SSHTarget or WinRMTarget (secret fields repr=False) for the length
of an audit: never logged, never in task arguments, never in an error message.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from bulwark.core.fields import reveal
from bulwark.inventory import bindings, targets
from bulwark.inventory.models import Credential, Host
from workers.transports.base import Transport, TransportError
from workers.transports.local import LocalTransport
from workers.transports.ssh import SSHTarget, SSHTransport, SudoMode
from workers.transports.winrm import WinRMAuth, WinRMTarget, WinRMTransport


class ConnectionRefused(TransportError):
    """The inventory does not describe a usable connection (no credential, bad pin...)."""

    permanent = True


# Every refusal's words, with `{name}` fields. They are stored as an audit's error in English
# (the API, webhooks and logs carry them so); audits.reasons translates each one where it is
# shown, and a test makes sure none is missing there.
REFUSALS = {
    "local_off": "host {host}: audits of the Bulwark machine itself are off (ALLOW_LOCAL_AUDITS)",
    "unconfirmed": (
        "host {host}: its credential is not confirmed for the host's current destination "
        "(address, port, transport or key settings changed): a group admin re-enters the "
        "credential's secrets, or a superuser confirms the host"
    ),
    "no_credential": "host {host} has no credential",
    "not_ssh": "credential {credential} is not an SSH credential",
    "no_secret": "credential {credential} has no secret",
    "not_winrm": "host {host} needs a WinRM credential",
    "basic_http": "host {host}: Basic authentication needs HTTPS",
    "invalid": "host {host}: {problem}",
}


def _refused(kind: str, **values: str) -> ConnectionRefused:
    return ConnectionRefused(REFUSALS[kind].format(**values))


@dataclass
class Connection:
    """A transport for one host, with the secrets it holds (to redact from any message)."""

    transport: Transport
    secrets: list[str] = field(default_factory=list, repr=False)


def open_connection(
    host: Host, *, connect_timeout: float = 10.0, show_unpinned_key: bool = False
) -> Connection:
    """A transport for `host` (not yet connected). Raises ConnectionRefused.

    `show_unpinned_key`: an SSH host with no pinned key is reached trusting the key it presents
    this once (the test connection shows it for pinning; nothing is stored)."""
    if host.transport == Host.TransportKind.LOCAL:
        if not settings.ALLOW_LOCAL_AUDITS:
            raise _refused("local_off", host=host.name)
        return Connection(LocalTransport())
    if host.transport == Host.TransportKind.WINRM:
        winrm = winrm_target(host, connect_timeout=connect_timeout)
        return Connection(WinRMTransport(winrm), [winrm.password] if winrm.password else [])
    target = ssh_target(host, connect_timeout=connect_timeout)
    if show_unpinned_key and not host.host_key:
        target = dataclasses.replace(target, trust_on_first_use=True)
    return Connection(SSHTransport(target), target.secrets() + _key_text(target))


def _require_binding(host: Host) -> None:
    """Release a credential's secrets only to the destination they were confirmed for."""
    if not bindings.is_bound(host):
        raise _refused("unconfirmed", host=host.name)


def ssh_target(host: Host, *, connect_timeout: float = 10.0, jump: bool = True) -> SSHTarget:
    credential = host.credential
    if credential is None:
        raise _refused("no_credential", host=host.name)
    _require_binding(host)
    if credential.kind == Credential.Kind.WINRM:
        raise _refused("not_ssh", credential=credential.name)
    secret = reveal(credential.secret)
    if not secret:
        raise _refused("no_secret", credential=credential.name)
    via = None
    if jump and credential.jump_host is not None:
        via = ssh_target(credential.jump_host, connect_timeout=connect_timeout, jump=False)
    is_key = credential.kind == Credential.Kind.SSH_KEY
    try:
        return SSHTarget(
            host=host.address,
            port=host.port,
            user=credential.username,
            private_key=secret if is_key else None,
            passphrase=reveal(credential.passphrase) if is_key else None,
            password=None if is_key else secret,
            host_key=host.host_key or None,
            trust_on_first_use=host.trust_on_first_use,
            sudo=SudoMode(credential.sudo_mode),
            sudo_password=reveal(credential.sudo_password),
            jump=via,
            address_policy=targets.policy(),
            connect_timeout=connect_timeout,
        )
    except ValueError as exc:
        # SSHTarget's messages name fields, never their values.
        raise _refused("invalid", host=host.name, problem=str(exc)) from None


def winrm_target(host: Host, *, connect_timeout: float = 10.0) -> WinRMTarget:
    credential = host.credential
    if credential is None or credential.kind != Credential.Kind.WINRM:
        raise _refused("not_winrm", host=host.name)
    _require_binding(host)
    if host.winrm_auth == "basic" and host.winrm_allow_http:
        # Basic over HTTP would hand the password to anyone on the path, unverified.
        raise _refused("basic_http", host=host.name)
    password = reveal(credential.secret)
    if not password:
        raise _refused("no_secret", credential=credential.name)
    try:
        return WinRMTarget(
            host=host.address,
            user=credential.username,
            password=password,
            port=host.port,
            auth=WinRMAuth(host.winrm_auth),
            https=not host.winrm_allow_http,
            allow_http=host.winrm_allow_http,
            ca_bundle=_ca_bundle(host),
            address_policy=targets.policy(),
            connect_timeout=connect_timeout,
        )
    except ValueError as exc:
        raise _refused("invalid", host=host.name, problem=str(exc)) from None


def _ca_bundle(host: Host) -> str | None:
    """The host's trusted CAs as a file (pywinrm takes a path). CA certificates are public, so
    they are written in clear under the data folder, one file per host, refreshed each time."""
    if not host.ca_certificates.strip():
        return None
    folder = Path(settings.DATA_DIR) / "ca"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"host-{host.pk}.pem"
    path.write_text(host.ca_certificates)
    return str(path)


def _key_text(target: SSHTarget) -> list[str]:
    keys = [target.private_key] if target.private_key else []
    return keys + (_key_text(target.jump) if target.jump else [])
