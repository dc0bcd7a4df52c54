"""Evidence from files and commands that hold secrets is masked before it leaves the worker.

A rule on /etc/shadow matches lines that carry password hashes; the evidence line would show
them to every viewer of the group. What decided the verdict stays (the account, the aging
fields, whether there is a hash and of which kind: `$6$***`); the secret part is masked.
Lines of private key files are dropped whole. Crypt-style hashes are masked wherever they
show up (a command's output, a config file), since they are never needed to judge a check.
"""

from __future__ import annotations

import re

MASK = "***"
# The shadow-format files: field 2 (index 1) is the hash, the rest is policy (ages, expiry).
_SHADOW_FILES = re.compile(r"(^|[\s/'\"])(shadow|gshadow)-?($|[\s'\"])")
_OPASSWD = re.compile(r"(^|[\s/'\"])opasswd($|[\s'\"])")  # user:uid:count:hash,hash
_PRIVATE_KEY_FILE = re.compile(
    r"(^|/)(id_(rsa|dsa|ecdsa|ed25519)(_sk)?|ssh_host_\w+_key)$|\.(key|p12|pfx)$"
)
# $id$salt$hash (MD5, bcrypt, SHA-256/512, yescrypt, scrypt...), up to the next field.
_CRYPT = re.compile(r"(\$(?:1|2[abxy]?|5|6|7|y|gy|sha1|md5)\$)[^\s:,]+")
_LOCK_MARKERS = {"", "*", "!", "!!", "!*", "x"}


def redact_evidence(location: str | None, line: str | None) -> str | None:
    """The evidence `line` found at `location` (a path, or a command), safe to store."""
    if line is None:
        return None
    where = location or ""
    if _PRIVATE_KEY_FILE.search(where.split()[-1] if where.split() else "") or (
        "PRIVATE KEY" in line
    ):
        return "[private key material redacted]"
    if _SHADOW_FILES.search(where):
        line = _mask_field(line, 1)
    elif _OPASSWD.search(where):
        line = _mask_field(line, 3)
    return _CRYPT.sub(lambda m: m.group(1) + MASK, line)


def _mask_field(line: str, index: int) -> str:
    fields = line.split(":")
    if len(fields) <= index:
        return line
    value = fields[index]
    if value.lstrip("!") in _LOCK_MARKERS:
        return line  # locked or no password: no secret, and it may be what decided
    crypt = _CRYPT.match(value.lstrip("!"))
    prefix = "!" if value.startswith("!") else ""
    fields[index] = prefix + (crypt.group(1) + MASK if crypt else MASK)
    return ":".join(fields)
