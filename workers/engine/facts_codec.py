"""Facts to and from JSON-able data, for keeping a host's last collection (policy preview).

Secrets-aware: the password fields of account databases (/etc/shadow, /etc/gshadow and their
backups) keep only their shape (empty, locked "!", disabled "*", or the "$id$" of the hash
scheme), never the hash: enough for the rules that test those shapes, nothing to crack.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from workers.engine.facts import (
    CommandFact,
    CommandRequest,
    DirectoryEntry,
    DirectoryFact,
    DirectoryRequest,
    Fact,
    FactRequest,
    Facts,
    FileFact,
    FileRequest,
    PathState,
    ProcessInfo,
    ProcessListFact,
    ProcessListRequest,
    RegistryFact,
    RegistryRequest,
    RegistryValue,
    UnavailableFact,
)

SECRET_FILES = re.compile(r"^/etc/g?shadow-?$")
_HASH = re.compile(rb"^(\$[^$]+\$)?.*$")
REDACTED = b"REDACTED"


def redact_account_file(content: bytes) -> bytes:
    """Each `name:password:...` line with the password reduced to its shape."""
    lines = []
    for line in content.split(b"\n"):
        name, sep, rest = line.partition(b":")
        if not sep:
            lines.append(line)
            continue
        password, sep2, tail = rest.partition(b":")
        lines.append(b"".join([name, b":", _shape(password), sep2, tail]))
    return b"\n".join(lines)


def _shape(password: bytes) -> bytes:
    if password in (b"", b"!", b"*", b"!!", b"!*"):
        return password
    prefix = b""
    while password[:1] in (b"!", b"*"):
        prefix, password = prefix + password[:1], password[1:]
    match = _HASH.match(password)
    scheme = match.group(1) if match and match.group(1) else b""
    return prefix + scheme + REDACTED


def dump(facts: Facts) -> dict[str, Any]:
    """JSON-able data for these facts (bytes as base64), secrets reduced."""
    items = []
    for request, fact in facts.by_request.items():
        if (
            isinstance(request, FileRequest)
            and isinstance(fact, FileFact)
            and fact.content is not None
            and SECRET_FILES.match(request.path)
        ):
            fact = FileFact(fact.state, redact_account_file(fact.content), fact.truncated)
        items.append([_request(request), _fact(fact)])
    return {"windows": facts.windows, "os": dict(facts.os), "facts": items}


def load(data: dict[str, Any]) -> Facts:
    facts = Facts(windows=bool(data.get("windows")), os=dict(data.get("os") or {}))
    for request, fact in data.get("facts", []):
        facts.by_request[_load_request(request)] = _load_fact(fact)
    return facts


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _unb64(data: str | None) -> bytes | None:
    return None if data is None else base64.b64decode(data)


def _request(request: FactRequest) -> dict[str, Any]:
    if isinstance(request, FileRequest):
        return {"t": "file", "path": request.path, "content": request.content}
    if isinstance(request, DirectoryRequest):
        return {"t": "dir", "path": request.path}
    if isinstance(request, CommandRequest):
        return {"t": "cmd", "argv": list(request.argv), "line": request.line}
    if isinstance(request, ProcessListRequest):
        return {"t": "ps"}
    return {"t": "reg", "key": request.key}


def _load_request(data: dict[str, Any]) -> FactRequest:
    kind = data["t"]
    if kind == "file":
        return FileRequest(data["path"], content=bool(data["content"]))
    if kind == "dir":
        return DirectoryRequest(data["path"])
    if kind == "cmd":
        return CommandRequest(tuple(data["argv"]), line=data.get("line"))
    if kind == "ps":
        return ProcessListRequest()
    if kind == "reg":
        return RegistryRequest(data["key"])
    raise ValueError(f"unknown request kind {kind!r}")


def _fact(fact: Fact) -> dict[str, Any]:
    if isinstance(fact, FileFact):
        return {
            "t": "file",
            "state": fact.state.value,
            "content": _b64(fact.content),
            "truncated": fact.truncated,
        }
    if isinstance(fact, DirectoryFact):
        return {
            "t": "dir",
            "state": fact.state.value,
            "entries": [[e.path, e.is_symlink, e.regular] for e in fact.entries],
            "walk_errors": fact.walk_errors,
            "truncated": fact.truncated,
        }
    if isinstance(fact, CommandFact):
        return {
            "t": "cmd",
            "output": _b64(fact.output),
            "exit": fact.exit_status,
            "timed_out": fact.timed_out,
            "not_found": fact.not_found,
            "truncated": fact.truncated,
        }
    if isinstance(fact, ProcessListFact):
        return {"t": "ps", "processes": [[p.pid, p.name, p.command_line] for p in fact.processes]}
    if isinstance(fact, RegistryFact):
        return {
            "t": "reg",
            "exists": fact.exists,
            "denied": fact.denied,
            "values": [[v.name, v.type, v.data] for v in fact.values],
            "subkeys": list(fact.subkeys),
        }
    return {"t": "none", "reason": fact.reason}


def _load_fact(data: dict[str, Any]) -> Fact:
    kind = data["t"]
    if kind == "file":
        return FileFact(PathState(data["state"]), _unb64(data["content"]), bool(data["truncated"]))
    if kind == "dir":
        entries = tuple(DirectoryEntry(p, bool(s), bool(r)) for p, s, r in data["entries"])
        return DirectoryFact(
            PathState(data["state"]), entries, bool(data["walk_errors"]), bool(data["truncated"])
        )
    if kind == "cmd":
        return CommandFact(
            _unb64(data["output"]) or b"",
            data["exit"],
            bool(data["timed_out"]),
            bool(data["not_found"]),
            bool(data["truncated"]),
        )
    if kind == "ps":
        return ProcessListFact(tuple(ProcessInfo(int(p), n, c) for p, n, c in data["processes"]))
    if kind == "reg":
        return RegistryFact(
            bool(data["exists"]),
            bool(data["denied"]),
            tuple(RegistryValue(n, t, d) for n, t, d in data["values"]),
            tuple(data["subkeys"]),
        )
    return UnavailableFact(str(data["reason"]))
