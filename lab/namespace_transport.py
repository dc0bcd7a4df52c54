"""A local transport that runs inside a test host's namespaces: the host's own view, no SSH.

Used to compare an SSH audit with what the host itself sees, and to time the host's own
collection without any network in the way.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from lab.harness import TestHost
from workers.transports.base import RemoteProcess
from workers.transports.local import LocalProcess, LocalTransport


@dataclass
class NamespaceTransport(LocalTransport):
    """Runs commands as root in the host's mount, UTS, network and PID namespaces."""

    host: TestHost | None = None

    def _start(self, command: str) -> RemoteProcess:
        assert self.host is not None
        enter = f"exec nsenter -t {self.host.pid} -m -u -n -p -- /bin/sh -c {shlex.quote(command)}"
        return LocalProcess(enter)
