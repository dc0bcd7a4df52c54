"""Who to audit and how to reach them: a HostTarget from --local/--ssh/--winrm or an inventory
entry, and the transport for it. Secrets come only from environment variables, never argv."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from workers.transports.base import Transport
from workers.transports.local import LocalTransport

CONNECTIONS = ("ssh", "winrm", "local")


class TargetError(ValueError):
    """A host's settings cannot make a connection; the message names the host and the setting."""


@dataclass(frozen=True)
class HostTarget:
    """One host to audit. `settings` holds the per-host options (inventory variables, already
    translated to our names: key_file, host_key, known_hosts, password_env, sudo,
    sudo_password_env, winrm_scheme, winrm_auth, ca_file)."""

    name: str
    connection: str = "ssh"
    host: str = ""
    port: int | None = None
    user: str = ""
    groups: tuple[str, ...] = ()
    settings: Mapping[str, str] = field(default_factory=dict)
    where: str = ""  # file:line of the inventory entry, for messages

    @property
    def address(self) -> str:
        return self.host or self.name

    def describe(self) -> str:
        return f"{self.name}" + (f" ({self.where})" if self.where else "")


def user_host_port(text: str, option: str, default_port: int | None) -> tuple[str, str, int | None]:
    """Split USER@HOST[:PORT] (IPv6 as [ADDR]:PORT)."""
    user, at, rest = text.rpartition("@")
    if not at or not user or not rest:
        raise SystemExit(f"{option}: expected USER@HOST[:PORT], got {text!r}")
    host, port = rest, default_port
    if rest.startswith("["):  # [IPv6]:port
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            if not tail[1:].isdigit():
                raise SystemExit(f"{option}: bad port {tail[1:]!r}")
            port = int(tail[1:])
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        if not port_text.isdigit():
            raise SystemExit(f"{option}: bad port {port_text!r}")
        port = int(port_text)
    return user, host, port


def secret_from_env(variable: str | None, what: str) -> str | None:
    if not variable:
        return None
    value = os.environ.get(variable)
    if value is None:
        raise TargetError(f"{what}: environment variable {variable} is not set")
    return value


def command_line_target(args: argparse.Namespace) -> HostTarget:
    """The one host of --local, --ssh or --winrm."""
    if args.local:
        return HostTarget(name="localhost", connection="local")
    if args.winrm:
        user, host, port = user_host_port(args.winrm, "--winrm", None)
        return HostTarget(name=host, connection="winrm", host=host, port=port, user=user)
    user, host, port = user_host_port(args.ssh, "--ssh", 22)
    return HostTarget(name=host, connection="ssh", host=host, port=port, user=user)


def open_transport(target: HostTarget, args: argparse.Namespace) -> Transport:
    """A (not yet connected) transport; the host's settings win over the command line's."""
    if target.connection == "local":
        return LocalTransport()
    try:
        if target.connection == "winrm":
            return _winrm(target, args)
        if target.connection == "ssh":
            return _ssh(target, args)
    except ValueError as exc:  # the targets' messages name fields, never secret values
        raise TargetError(f"{target.describe()}: {exc}") from None
    raise TargetError(f"{target.describe()}: unknown connection {target.connection!r}")


def _setting(target: HostTarget, key: str, default: str | None) -> str | None:
    value = target.settings.get(key)
    return value if value not in (None, "") else default


def _ssh(target: HostTarget, args: argparse.Namespace) -> Transport:
    # Imported here so a local or WinRM audit never loads paramiko.
    from workers.transports.ssh import SSHTarget, SSHTransport, SudoMode

    key = _setting(target, "key_file", args.key)
    password_env = _setting(target, "password_env", args.password_env)
    host_key = _setting(target, "host_key", args.host_key)
    known_hosts = _setting(target, "known_hosts", args.known_hosts)
    if not (key or password_env):
        raise TargetError(f"{target.describe()}: SSH needs --key FILE or --password-env VAR")
    if not (known_hosts or host_key or args.trust_on_first_use):
        raise TargetError(
            f"{target.describe()}: SSH needs --known-hosts, --host-key or --trust-on-first-use"
        )
    jump = None
    if args.jump:
        jump_user, jump_host, jump_port = user_host_port(args.jump, "--jump", 22)
        jump = SSHTarget(
            host=jump_host,
            port=jump_port or 22,
            user=jump_user,
            private_key_file=args.jump_key or key,
            password=None
            if (args.jump_key or key)
            else secret_from_env(password_env, "--password-env"),
            host_key=args.jump_host_key,
            known_hosts_file=known_hosts,
            connect_timeout=args.connect_timeout,
        )
    sudo_password_env = _setting(target, "sudo_password_env", args.sudo_password_env)
    sudo = SudoMode.NONE
    if sudo_password_env:
        sudo = SudoMode.PASSWORD
    elif args.sudo or target.settings.get("sudo") == "true":
        sudo = SudoMode.NOPASSWD
    return SSHTransport(
        SSHTarget(
            host=target.address,
            port=target.port or 22,
            user=target.user or "root",
            private_key_file=key,
            passphrase=secret_from_env(args.passphrase_env, "--passphrase-env"),
            password=None if key else secret_from_env(password_env, "password"),
            host_key=host_key,
            known_hosts_file=known_hosts,
            trust_on_first_use=args.trust_on_first_use,
            sudo=sudo,
            sudo_password=secret_from_env(sudo_password_env, "sudo password"),
            jump=jump,
            connect_timeout=args.connect_timeout,
        )
    )


def _winrm(target: HostTarget, args: argparse.Namespace) -> Transport:
    from workers.transports.winrm import WinRMAuth, WinRMTarget, WinRMTransport

    scheme = _setting(target, "winrm_scheme", "http" if args.winrm_http else "https")
    if scheme not in ("http", "https"):
        raise TargetError(f"{target.describe()}: WinRM scheme must be http or https: {scheme!r}")
    auth = _setting(target, "winrm_auth", args.winrm_auth) or "ntlm"
    if auth not in {a.value for a in WinRMAuth}:
        raise TargetError(f"{target.describe()}: WinRM auth must be ntlm, basic or kerberos")
    password_env = _setting(target, "password_env", args.password_env)
    if auth != WinRMAuth.KERBEROS and not password_env:
        raise TargetError(f"{target.describe()}: WinRM {auth} needs --password-env VAR")
    return WinRMTransport(
        WinRMTarget(
            host=target.address,
            user=target.user or "Administrator",
            password=secret_from_env(password_env, "password"),
            port=target.port,
            auth=WinRMAuth(auth),
            https=scheme == "https",
            allow_http=scheme == "http",
            ca_bundle=_setting(target, "ca_file", args.ca_file),
            connect_timeout=args.connect_timeout,
        )
    )
