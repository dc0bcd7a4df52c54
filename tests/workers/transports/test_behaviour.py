"""One behaviour suite every transport passes: local, SSH (a real sshd test host) and WinRM (pywinrm
against the WS-Management test server). A new transport joins by adding a backend below."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from lab.harness import HostSpec, TestHosts
from tests.hosts.winrm_server import WinRMServer
from tests.hosts.winrm_support import PASSWORD, USER, machine, target
from workers.audit import run
from workers.engine.definitions import PolicyDefinition
from workers.engine.policy import load_policy_text
from workers.transports.base import SeenHostKeys, Transport, TransportError
from workers.transports.local import LocalTransport
from workers.transports.ssh import SSHTransport
from workers.transports.winrm import WinRMTransport

pytest_plugins = ("tests.hosts.fixtures",)

POSIX_POLICY = """\
policy: {id: behaviour_posix, file: behaviour_posix.yml, name: "posix", description: "d"}
checks:
  - {id: 1, title: "passwd exists", condition: all, rules: ['f:/etc/passwd']}
  - {id: 2, title: "a file nobody has", condition: all, rules: ['f:/etc/bulwark-never-there']}
  - {id: 3, title: "a command's output", condition: all, rules: ['c:echo hi -> r:^hi$']}
"""
WINDOWS_POLICY = r"""
policy: {id: behaviour_windows, file: behaviour_windows.yml, name: "windows", description: "d"}
checks:
  - id: 1
    title: "the product name"
    condition: all
    rules: ['r:HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion -> ProductName -> r:^Windows']
  - {id: 2, title: "a key nobody has", condition: all, rules: ['r:HKLM\SOFTWARE\BulwarkNeverThere']}
"""


@dataclass
class Backend:
    """How to reach one transport's host, and what a policy for its platform must say."""

    connect: Callable[[], Transport]
    policy: PolicyDefinition
    verdicts: dict[str, str]
    host_key: str | None  # the key a connection must report seeing, if the protocol has one
    unreachable: Callable[[], Transport] | None  # a target nobody answers on


def _policy(text: str) -> PolicyDefinition:
    loaded = load_policy_text(text, "behaviour.yml")
    assert loaded.policy is not None, loaded.errors
    return loaded.policy


# One backend per module (each test opens its own transports on it); the SSH one starts a test
# host, so its tests are slow.
@pytest.fixture(
    scope="module", params=["local", pytest.param("ssh", marks=pytest.mark.slow), "winrm"]
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    posix = _policy(POSIX_POLICY)
    posix_verdicts = {"1": "passed", "2": "failed", "3": "passed"}
    if request.param == "local":
        yield Backend(LocalTransport, posix, posix_verdicts, None, None)
    elif request.param == "ssh":
        hosts: TestHosts = request.getfixturevalue("test_hosts")
        host = hosts.start(HostSpec("behaviour"))
        try:
            yield Backend(
                lambda: SSHTransport(host.ssh_target()),
                posix,
                posix_verdicts,
                host.host_key_line,
                lambda: SSHTransport(host.ssh_target(port=host.port + 1, connect_timeout=5)),
            )
        finally:
            host.stop()
    else:
        server = WinRMServer(machine("ws2022_stock"), users={USER: PASSWORD}).start()
        try:
            closed = server.port
            yield Backend(
                lambda: WinRMTransport(target(server, auth="basic")),
                _policy(WINDOWS_POLICY),
                {"1": "passed", "2": "failed"},
                None,
                lambda: WinRMTransport(target(server, auth="basic", port=closed + 1)),
            )
        finally:
            server.stop()


def test_an_audit_is_one_process_with_the_expected_verdicts(backend: Backend) -> None:
    with backend.connect() as transport:
        outcome = run(transport, [backend.policy], command_timeout=20)
        assert transport.executions == outcome.executions == 1
    got = {r.check.id: r.status.value for r in outcome.results}
    assert got == backend.verdicts, [(r.check.id, r.reason) for r in outcome.results]


def test_it_reports_the_host_keys_it_saw(backend: Backend) -> None:
    with backend.connect() as transport:
        assert transport.seen_host_keys() == SeenHostKeys()  # nothing seen before connecting
        run(transport, [backend.policy], command_timeout=20)
        seen = transport.seen_host_keys()
    if backend.host_key is None:
        assert seen == SeenHostKeys()
    else:
        assert seen.host and backend.host_key.startswith(seen.host) and seen.jump is None


def test_closing_twice_is_harmless(backend: Backend) -> None:
    transport = backend.connect()
    run(transport, [backend.policy], command_timeout=20)
    transport.close()
    transport.close()


def test_an_unreachable_host_is_a_transient_transport_error(backend: Backend) -> None:
    if backend.unreachable is None:
        return  # the local transport has no network to fail
    with pytest.raises(TransportError) as caught, backend.unreachable() as transport:
        run(transport, [backend.policy], command_timeout=20)
    assert caught.value.permanent is False
