"""SSH keys: pinned host keys (OpenSSH or known_hosts lines) checked before we log in, and
the client's private key loaded from text or a file, with or without a passphrase."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from workers.transports.base import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyUnknown,
    TransportError,
)

if TYPE_CHECKING:
    from workers.transports.ssh import SSHTarget


def parse_pins(target: SSHTarget) -> list[paramiko.PKey]:
    """The keys pinned for this target: bare key lines, and known_hosts lines naming it."""
    lines = (target.host_key or "").splitlines()
    if target.known_hosts_file:
        try:
            lines += Path(target.known_hosts_file).read_text().splitlines()
        except OSError as exc:
            raise ValueError(f"cannot read known_hosts file: {exc.strerror}") from exc
    name = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
    keys: list[paramiko.PKey] = []
    for raw in lines:
        fields = raw.split()
        if not fields or fields[0].startswith(("#", "@")):
            continue  # comments; @cert-authority and @revoked are not supported
        bare = len(fields) >= 2 and fields[1].startswith("AAAA")
        entry = _known_hosts_entry(f"{name} {raw.strip()}" if bare else raw.strip())
        if bare or _host_matches(name, entry.hostnames):
            keys.append(entry.key)
    return keys


def _known_hosts_entry(line: str) -> paramiko.hostkeys.HostKeyEntry:
    try:
        entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
    except (paramiko.SSHException, ValueError) as exc:
        raise ValueError(f"malformed host key line: {line[:60]!r}") from exc
    if entry is None or entry.key is None:
        raise ValueError(f"malformed or unsupported host key line: {line[:60]!r}")
    return entry


def _host_matches(name: str, patterns: list[str]) -> bool:
    """OpenSSH known_hosts matching: hashed names, `*` and `?` wildcards, `!` negations."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if pattern.startswith("|1|"):
            hit = paramiko.HostKeys.hash_host(name, pattern) == pattern
        else:
            glob = re.escape(pattern.lower()).replace(r"\*", ".*").replace(r"\?", ".")
            hit = re.fullmatch(glob, name.lower()) is not None
        if hit and negated:
            return False
        matched = matched or hit
    return matched


def verify_host_key(target: SSHTarget, key: paramiko.PKey, role: str) -> bool:
    """True when `key` is pinned, False when it is accepted on first use; raises otherwise."""
    pins = parse_pins(target)
    seen = key.fingerprint
    where = f"{role} {target.address}"
    if any(pin.asbytes() == key.asbytes() for pin in pins):
        return True
    if pins:
        expected = ", ".join(dict.fromkeys(pin.fingerprint for pin in pins))
        raise HostKeyChanged(
            f"host key of {where} has CHANGED: pinned {expected}, presented "
            f"{key.get_name()} {seen}; refusing to log in (possible interception)",
            expected=expected,
            seen=seen,
        )
    if not target.trust_on_first_use:
        raise HostKeyUnknown(
            f"host key of {where} is not pinned (presented {key.get_name()} {seen}); "
            "pin it or allow trust on first use"
        )
    return False


def load_private_key(target: SSHTarget, role: str) -> paramiko.PKey | None:
    """Load any OpenSSH or PEM ed25519/ECDSA/RSA key, decrypting it in memory."""
    if target.private_key_file is not None:
        try:
            data = Path(target.private_key_file).read_bytes()
        except OSError as exc:
            raise TransportError(
                f"cannot read the private key file for {role} {target.address}: {exc.strerror}",
                permanent=True,
            ) from exc
    elif target.private_key is not None:
        data = target.private_key.encode()
    else:
        return None
    password = target.passphrase.encode() if target.passphrase else None
    problem = f"private key for {role} {target.address}"
    try:
        try:
            loaded = _load_crypto_key(data, password)
        except TypeError:
            if password is None:
                raise AuthenticationFailed(
                    f"the {problem} is encrypted: give its passphrase"
                ) from None
            loaded = _load_crypto_key(data, None)  # a passphrase for a plain key: ignore it
    except ValueError:
        raise AuthenticationFailed(
            f"cannot read the {problem}: malformed, or the passphrase is wrong"
        ) from None
    except UnsupportedAlgorithm:
        raise TransportError(f"the {problem} has an unsupported type", permanent=True) from None
    key_class: type[paramiko.PKey]
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    elif isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    else:
        raise TransportError(f"the {problem} is not ed25519, ECDSA or RSA", permanent=True)
    # paramiko reads every type from the OpenSSH format; the text never leaves memory.
    text = loaded.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    return key_class.from_private_key(io.StringIO(text))


def _load_crypto_key(data: bytes, password: bytes | None) -> object:
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
        return serialization.load_ssh_private_key(data, password)
    return serialization.load_pem_private_key(data, password)
