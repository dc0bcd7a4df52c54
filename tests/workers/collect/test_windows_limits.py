"""The Windows limits the collector must stay within, for every Windows policy we ship together
(an audit of a Windows host runs them all in one collector process):

- the WinRM Command runs through cmd.exe: at most 8,191 characters. The collector's command is
  fixed; its script goes through stdin, so no number of checks can lengthen it;
- stdin travels in Send messages, each one SOAP envelope under the default MaxEnvelopeSizekb
  (500 KiB = 512,000 bytes) with the chunk base64-encoded inside;
- a `c:` rule's command line is started with Process.Start (CreateProcess): at most 32,767
  characters with the terminating NUL, the program quoted in front.

The WS-Management test server (tests/hosts/winrm_server.py) and the machine it serves
(tests/hosts/windows_machine.py) enforce the first and last limit the way Windows does, so every
Windows audit in the suite runs under them; these tests say where each policy stands.
"""

from __future__ import annotations

import math

import pytest

from tests.hosts.windows_machine import CREATE_PROCESS_LIMIT, WindowsMachine, process_command_line
from tests.hosts.winrm_server import CMD_LINE_LIMIT
from tests.hosts.winrm_support import FIXTURES
from tests.shared_data import REPO
from tests.workers.collect.test_powershell import windows_requests
from workers.collect import powershell
from workers.engine.facts import CommandRequest, FactRequest
from workers.transports.winrm import WinRMTarget

POLICIES = sorted((REPO / "rulesets" / "windows").glob("*.yml"))
MAX_ENVELOPE = 500 * 1024  # WinRM's default MaxEnvelopeSizekb
ENVELOPE_OVERHEAD = 8 * 1024  # SOAP headers around the stream: generous for pywinrm's ~1.5 KiB
# Room for %VAR% expansion on the host: a rule's line must stay this far below the limit.
EXPANSION_ROOM = 4096


def _all_requests() -> list[FactRequest]:
    requests: dict[FactRequest, None] = {}
    for path in POLICIES:
        requests.update(dict.fromkeys(windows_requests(path)))
    return list(requests)


def test_the_limits_match_windows() -> None:
    assert powershell.CMD_LINE_LIMIT == CMD_LINE_LIMIT == 8191
    assert powershell.PROCESS_LINE_LIMIT == CREATE_PROCESS_LIMIT == 32767 - 1


def test_the_collector_command_is_fixed_and_fits_cmd() -> None:
    assert len(POLICIES) == 2
    assert len(powershell.COMMAND) <= powershell.CMD_LINE_LIMIT
    assert powershell.COMMAND.endswith("-Command -")  # the script comes through stdin


def test_every_stdin_send_of_all_windows_policies_fits_an_envelope() -> None:
    requests = _all_requests()
    line = powershell.render_stage(
        enumerate(requests, 1),
        boundary="BWK-0",
        stage=1,
        fact_cap=1 << 20,
        command_timeout=30,
        first=True,
    )
    assert line.isascii() and line.count("\n") == 3  # one statement, however many checks
    chunk = WinRMTarget(host="127.0.0.1", user="u", password="p").send_chunk
    largest = min(chunk, len(line.encode()))
    # Each Send carries at most `chunk` bytes, base64-encoded, inside the envelope.
    assert 4 * math.ceil(largest / 3) + ENVELOPE_OVERHEAD <= MAX_ENVELOPE


def test_every_command_line_of_our_windows_policies_fits_create_process() -> None:
    lines = [r.line or "" for r in _all_requests() if isinstance(r, CommandRequest)]
    assert lines, "the Windows policies run commands (secedit, auditpol)"
    longest = max(len(process_command_line(line)) for line in lines)
    assert longest <= powershell.PROCESS_LINE_LIMIT - EXPANSION_ROOM, longest


@pytest.mark.parametrize(
    ("length", "runs"),
    [(CREATE_PROCESS_LIMIT, True), (CREATE_PROCESS_LIMIT + 1, False)],
)
def test_the_test_machine_refuses_what_create_process_refuses(length: int, runs: bool) -> None:
    machine = WindowsMachine.load(FIXTURES / "ws2022_stock.yml")
    head = 'auditpol.exe /get /subcategory:"Logon" '
    line = head + "x" * (length - len(process_command_line(head)))
    assert len(process_command_line(line)) == length
    status, _ = machine.answer({"kind": "command", "line": line})
    assert (status != "noexec") is runs


def test_process_command_lines_quote_the_program_as_process_start_does() -> None:
    assert process_command_line("auditpol.exe /get") == '"auditpol.exe" /get'
    assert process_command_line('"C:\\Program Files\\x.exe"  -a') == '"C:\\Program Files\\x.exe" -a'
    assert process_command_line("whoami") == '"whoami"'
