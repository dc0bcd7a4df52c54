"""Facts: what the collector learned about a host, keyed by the request that asked for it.

Requests are small frozen values (hashable, so duplicates across rules and policies collapse);
facts are what came back. Host output is data, never trusted: every fact records whether it was
truncated at the size cap, and evaluation turns a truncated or corrupted fact into a reason.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


@dataclass(frozen=True)
class FileRequest:
    """Stat a path; read its content when `content` is set."""

    path: str
    content: bool = False


@dataclass(frozen=True)
class DirectoryRequest:
    """Walk a directory tree (symlinks not followed below the top) and list its non-directories."""

    path: str


@dataclass(frozen=True)
class CommandRequest:
    """Run argv without a shell, stdin from /dev/null, stdout and stderr merged.

    `line` is set for Windows hosts only: the command text as the rule wrote it, which a
    Windows agent hands to CreateProcess unchanged after %VAR% expansion (policy-format §4.4);
    argv (W4's tokenizer, which eats backslashes) is then used for nothing but naming.
    """

    argv: tuple[str, ...]
    line: str | None = None


@dataclass(frozen=True)
class ProcessListRequest:
    """The process list: pid, short name (comm) and full command line."""


@dataclass(frozen=True)
class RegistryRequest:
    """A Windows registry key (values and subkeys); only the PowerShell collector answers it."""

    key: str


FactRequest = FileRequest | DirectoryRequest | CommandRequest | ProcessListRequest | RegistryRequest


class PathState(enum.Enum):
    REGULAR = "regular"  # resolves (symlinks followed) to a regular file
    DIRECTORY = "directory"
    OTHER = "other"  # exists but is a device, FIFO, socket...
    MISSING = "missing"  # ENOENT, or a dangling symlink
    DENIED = "denied"  # exists but cannot be read or reached


@dataclass(frozen=True)
class FileFact:
    state: PathState
    content: bytes | None = None  # set when requested and readable
    truncated: bool = False


@dataclass(frozen=True)
class DirectoryEntry:
    """A non-directory found by a walk. `regular`: it resolves to a regular file."""

    path: str
    is_symlink: bool
    regular: bool

    @property
    def name(self) -> str:
        if _WINDOWS_PATH.match(self.path):
            # A PowerShell walk reports C:\dir\file; a POSIX name may hold a backslash.
            return re.split(r"[\\/]", self.path)[-1]
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class DirectoryFact:
    state: PathState  # DIRECTORY when the walk ran
    entries: tuple[DirectoryEntry, ...] = ()
    walk_errors: bool = False  # some entry could not be read (W4: INVALID unless found)
    truncated: bool = False


@dataclass(frozen=True)
class CommandFact:
    output: bytes
    exit_status: int | None
    timed_out: bool = False
    not_found: bool = False  # exit status 126/127: could not execute
    truncated: bool = False


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    name: str
    command_line: str


@dataclass(frozen=True)
class ProcessListFact:
    processes: tuple[ProcessInfo, ...]


@dataclass(frozen=True)
class RegistryValue:
    name: str
    type: str  # REG_SZ, REG_DWORD, ...
    data: str  # already rendered as docs/policy-format.md §4.5 says


@dataclass(frozen=True)
class RegistryFact:
    exists: bool
    denied: bool = False
    values: tuple[RegistryValue, ...] = ()
    subkeys: tuple[str, ...] = ()


@dataclass(frozen=True)
class UnavailableFact:
    """The collector could not answer this request; `reason` says why."""

    reason: str


Fact = FileFact | DirectoryFact | CommandFact | ProcessListFact | RegistryFact | UnavailableFact


@dataclass
class Facts:
    """Everything collected from one host so far, plus per-audit caches of decoded text."""

    by_request: dict[FactRequest, Fact] = field(default_factory=dict)
    os: dict[str, str] = field(default_factory=dict)
    windows: bool = False
    _text_cache: dict[int, str] = field(default_factory=dict, repr=False)

    def get(self, request: FactRequest) -> Fact | None:
        fact = self.by_request.get(request)
        if fact is None and isinstance(request, FileRequest) and not request.content:
            # A content read also answers the plain stat of the same path.
            fact = self.by_request.get(FileRequest(request.path, content=True))
        return fact

    def has(self, request: FactRequest) -> bool:
        return self.get(request) is not None

    def text(self, data: bytes) -> str:
        """Host bytes as text: invalid UTF-8 becomes U+FFFD so results store safely anywhere."""
        key = id(data)
        cached = self._text_cache.get(key)
        if cached is None:
            cached = data.decode("utf-8", errors="replace")
            self._text_cache[key] = cached
        return cached
