"""A simulated Windows machine: a fixture (YAML) of registry, files, processes, accounts, the
secedit export and the audit policy, and the answers the PowerShell collector would give on it.

The WS-Management test server feeds it the lines the collector writes to PowerShell's stdin.
It reads each stage's request list from the `# bulwark-stage` header line (it runs no
PowerShell) and answers every request framed exactly as collector.ps1 would. Each request's
PowerShell call is read back with a reference tokenizer (pslex.py) and must say the same as
the header: a quoting mistake becomes an `error` answer and an entry in `mismatches`. Commands are
emulated (windows_commands.py) from the same data, so `auditpol /get /subcategory:"Logon"` and
the audit policy snapshot always agree.

Fixture keys (all optional): `base` (a fixture file this one extends), `env`, `registry` (keys
present in both registry views), `registry64` / `registry32` (one view only), `registry_denied`,
`files`, `files_denied`, `processes`, `accounts`, `secedit`, `audit_policy`, `commands`.
A registry value is an int (REG_DWORD), a string (REG_SZ), a list (REG_MULTI_SZ), or a map
`{dword|qword|sz|expand_sz|multi_sz|binary(hex)|none: value}`; null removes an inherited one.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.hosts.pslex import LexError, read_call
from tests.hosts.windows_commands import run_command, secedit_export
from tests.yaml_files import read_yaml
from workers.collect.powershell import STAGE_MARKER
from workers.engine.windows import HIVES, VIEWS

_STAGE_LINE = re.compile(r"FromBase64String\('([A-Za-z0-9+/=]*)'\)")


def decode_stage(line: str) -> tuple[str, dict[str, object]] | None:
    """The script and the header of a stage line, as the collector wrote it (its inverse)."""
    match = _STAGE_LINE.search(line)
    if match is None:
        return None
    script = base64.b64decode(match.group(1)).decode("utf-8")
    first = script.split("\n", 1)[0]
    if not first.startswith(STAGE_MARKER):
        return None
    header: dict[str, object] = json.loads(first[len(STAGE_MARKER) :])
    return script, header


# The fixture names hives as the engine does (the W4 names, mapped to .NET hive names).
HIVE_ALIASES = HIVES


@dataclass
class RegKey:
    """One key in one view: values by lower-case name -> (name, REG type, raw bytes)."""

    path: str
    values: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    subkeys: dict[str, str] = field(default_factory=dict)  # lower name -> name


def encode_value(spec: Any) -> tuple[str, bytes]:
    """A fixture value -> (REG type, bytes as the collector's answer encoding carries them)."""
    if isinstance(spec, bool):
        spec = int(spec)
    if isinstance(spec, int):
        return "REG_DWORD", spec.to_bytes(4, "little")
    if isinstance(spec, str):
        return "REG_SZ", spec.encode()
    if isinstance(spec, list):
        return "REG_MULTI_SZ", "\0".join(spec).encode()
    ((kind, value),) = spec.items()
    if kind == "dword":
        return "REG_DWORD", int(value).to_bytes(4, "little")
    if kind == "qword":
        return "REG_QWORD", int(value).to_bytes(8, "little")
    if kind in ("sz", "expand_sz"):
        return f"REG_{kind.upper()}", str(value).encode()
    if kind == "multi_sz":
        return "REG_MULTI_SZ", "\0".join(value).encode()
    if kind == "binary":
        return "REG_BINARY", bytes.fromhex(value)
    if kind == "none":
        return "REG_NONE", b""
    raise ValueError(f"unknown registry value type {kind!r}")


def normalize_key(key: str) -> str:
    """`HKLM\\Software\\X` -> `localmachine\\software\\x` (lookup form)."""
    hive, _, path = key.partition("\\")
    hive = HIVE_ALIASES.get(hive.upper(), hive)
    return "\\".join(p for p in [hive, *path.split("\\")] if p).lower()


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_spec(path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = read_yaml(path) or {}
    base = spec.pop("base", None)
    return _merge(load_spec(path.parent / base), spec) if base else spec


class WindowsMachine:
    """The machine a fixture describes, and the collector's answers on it."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.env = {k.upper(): str(v) for k, v in (spec.get("env") or {}).items()}
        self.views: dict[str, dict[str, RegKey]] = {v: {} for v in VIEWS}
        for section, views in (
            ("registry", VIEWS),
            ("registry64", ("64",)),
            ("registry32", ("32",)),
        ):
            for key, values in (spec.get(section) or {}).items():
                for view in views:
                    self._add_key(view, key, values or {})
        self.denied = {normalize_key(k) for k in spec.get("registry_denied") or []}
        self.files: dict[str, tuple[str, bytes]] = {}
        for path, content in (spec.get("files") or {}).items():
            data = content.encode() if isinstance(content, str) else bytes(content)
            self.files[_path_key(path)] = (path, data)
        self.files_denied = {_path_key(p) for p in spec.get("files_denied") or []}
        self.processes: list[dict[str, str]] = list(spec.get("processes") or [])
        self.stages = 0
        self.requests = 0
        self.mismatches: list[str] = []

    @classmethod
    def load(cls, path: Path) -> WindowsMachine:
        return cls(load_spec(path))

    def _add_key(self, view: str, key: str, values: dict[str, Any]) -> None:
        hive, _, rest = key.partition("\\")
        parts = [HIVE_ALIASES.get(hive.upper(), hive), *[p for p in rest.split("\\") if p]]
        keys = self.views[view]
        for depth in range(1, len(parts) + 1):
            lookup = "\\".join(parts[:depth]).lower()
            node = keys.setdefault(lookup, RegKey("\\".join(parts[:depth])))
            if depth < len(parts):
                node.subkeys.setdefault(parts[depth].lower(), parts[depth])
        node = keys["\\".join(parts).lower()]
        for name, value in values.items():
            if value is None:
                node.values.pop(name.lower(), None)
            else:
                node.values[name.lower()] = (name, *encode_value(value))

    # -- the registry, files and processes -------------------------------------------------------

    def set_value(self, view: str, key: str, name: str | None, value: Any) -> None:
        """Create the key (and its parents) in one view; set a value when `name` is given
        (the emulated remediation scripts of windows_script.py write the registry so)."""
        self._add_key(view, key, {name: value} if name is not None else {})

    def write_file(self, path: str, data: bytes) -> None:
        """A file the emulated tools write (secedit's export and database)."""
        self.files[_path_key(path)] = (path, data)

    def read_file(self, path: str) -> bytes | None:
        found = self.files.get(_path_key(path))
        return found[1] if found else None

    def remove_files(self, path: str) -> None:
        """Remove-Item -Recurse -Force: the file, or the directory and all under it."""
        key = _path_key(path).rstrip("\\")
        for name in [k for k in self.files if k == key or k.startswith(key + "\\")]:
            del self.files[name]

    def key(self, view: str, key: str) -> RegKey | None:
        return self.views[view].get(normalize_key(key))

    def value(self, key: str, name: str) -> tuple[str, str, bytes] | None:
        """A value as a 64-bit reader sees it (reg.exe, the agent's first view)."""
        found = self.key("64", key)
        return found.values.get(name.lower()) if found else None

    def expand(self, text: str) -> str:
        """[Environment]::ExpandEnvironmentVariables: unknown %NAMES% stay as they are."""
        out, rest = [], text
        while True:
            start = rest.find("%")
            end = rest.find("%", start + 1) if start >= 0 else -1
            if start < 0 or end < 0:
                return "".join(out) + rest
            name = rest[start + 1 : end]
            if name.upper() in self.env:
                out.append(rest[:start] + self.env[name.upper()])
                rest = rest[end + 1 :]
            else:
                out.append(rest[:end])
                rest = rest[end:]

    # -- answering the collector -----------------------------------------------------------------

    def answer_line(self, line: str) -> bytes | None:
        """The framed answers to one stdin line, or None when it is not a collector stage."""
        decoded = decode_stage(line)
        if decoded is None:
            return None
        script, header = decoded
        self.stages += 1
        boundary, cap = str(header["boundary"]), int(header["cap"])
        calls = {}
        for statement in script.split("\n"):
            if statement.startswith("try { "):
                try:
                    name, args = read_call(statement)
                except LexError as exc:
                    self.mismatches.append(str(exc))
                    continue
                calls[args[0]] = [name, *args[1:]]
        out = bytearray()
        for request in header["requests"]:
            self.requests += 1
            expected = expected_call(request)
            if calls.get(str(request["id"])) == expected:
                status, data = self.answer(request)
            else:
                self.mismatches.append(f"{calls.get(str(request['id']))} != {expected}")
                status, data = "error", b""
            data = data[: cap + 1]
            out += f"{boundary} {request['id']} {status} {len(data)}\n".encode() + data
        out += f"{boundary} END {header['stage']} 0\n".encode()
        return bytes(out)

    def answer(self, request: dict[str, Any]) -> tuple[str, bytes]:
        """(collector status, answer bytes) for one request of a stage header."""
        kind = request["kind"]
        if kind == "file":
            return self._file(self.expand(request["path"]), request["content"])
        if kind == "directory":
            return self._walk(self.expand(request["path"]))
        if kind == "registry":
            if request["hive"] is None:
                return "badhive", b""
            return "ok", self._registry(request["hive"], self.expand(request["path"]))
        if kind == "processes":
            return "ok", self._processes()
        if kind == "secedit":
            return secedit_export(self)
        if kind == "command":
            line = self.expand(request["line"])
            if len(process_command_line(line)) > CREATE_PROCESS_LIMIT:
                return "noexec", b""  # Process.Start throws; the collector reports noexec
            return run_command(self, line)
        return "error", b""

    def _file(self, path: str, content: bool) -> tuple[str, bytes]:
        key = _path_key(path)
        if key in self.files_denied:
            return "denied", b""
        if key in self.files:
            return "regular", self.files[key][1] if content else b""
        if any(k.startswith(key.rstrip("\\") + "\\") for k in self.files):
            return "directory", b""
        return "missing", b""

    def _walk(self, path: str) -> tuple[str, bytes]:
        prefix = _path_key(path).rstrip("\\") + "\\"
        entries = [p for k, (p, _) in self.files.items() if k.startswith(prefix)]
        if not entries:
            return ("other", b"") if _path_key(path) in self.files else ("missing", b"")
        return "ok", b"".join(b"NF" + p.encode() + b"\0" for p in sorted(entries))

    def _registry(self, hive: str, path: str) -> bytes:
        key = f"{hive}\\{path}" if path else hive
        lines = []
        for view in VIEWS:
            if normalize_key(key) in self.denied:
                lines.append(f"S {view} denied")
                continue
            found = self.views[view].get(normalize_key(key))
            if found is None:
                lines.append(f"S {view} missing")
                continue
            for name, reg_type, raw in found.values.values():
                lines.append(f"V {view} {reg_type} {_b64(name.encode())} {_b64(raw)}")
            lines += [f"K {view} {_b64(name.encode())}" for name in found.subkeys.values()]
            lines.append(f"S {view} found")
        return "".join(line + "\n" for line in lines).encode("ascii")

    def _processes(self) -> bytes:
        names = [f"{4 + 4 * i} {p['path']}\n" for i, p in enumerate(self.processes)]
        lines = [
            f"{4 + 4 * i} {p.get('command_line') or p['path']}\n"
            for i, p in enumerate(self.processes)
        ]
        return ("".join(names) + "=\n" + "".join(lines)).encode()


def expected_call(request: dict[str, Any]) -> list[str]:
    """The call workers.collect.powershell must have written for this header entry."""
    kind = request["kind"]
    if kind == "file":
        return ["_f", request["path"], "1" if request["content"] else "0"]
    if kind == "directory":
        return ["_d", request["path"]]
    if kind == "command":
        return ["_c", request["line"]]
    if kind == "registry":
        if request["hive"] is None:
            return ["_emit", "badhive", "$null"]
        return ["_r", request["hive"], request["path"]]
    return {"processes": ["_p"], "secedit": ["_sec"]}.get(kind, ["?"])


# CreateProcess takes at most 32,767 characters of command line, its terminating NUL included.
CREATE_PROCESS_LIMIT = 32766


def process_command_line(line: str) -> str:
    """The command line Process.Start hands to CreateProcess for the collector's _run: the
    program (up to the first blank, or quoted) in quotes, a space, the rest."""
    if line.startswith('"'):
        end = line.find('"', 1)
        exe, rest = (line[1:], "") if end < 0 else (line[1:end], line[end + 1 :])
    else:
        exe, _, rest = line.replace("\t", " ").partition(" ")
    rest = rest.lstrip()
    return f'"{exe}" {rest}' if rest else f'"{exe}"'


def _path_key(path: str) -> str:
    return path.replace("/", "\\").lower()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
