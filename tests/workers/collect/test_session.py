"""The sh collector against the local transport: framing, caps and hostile output."""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest

from workers.collect.session import CollectorLimits, CollectorSession
from workers.engine.facts import (
    CommandFact,
    CommandRequest,
    DirectoryFact,
    DirectoryRequest,
    FileFact,
    FileRequest,
    PathState,
    ProcessListFact,
    ProcessListRequest,
    UnavailableFact,
)
from workers.transports.local import LocalTransport


@pytest.fixture
def session():
    transport = LocalTransport()
    collector = CollectorSession(transport, limits=CollectorLimits(command_timeout=5))
    yield collector
    collector.close()


def test_it_answers_every_kind_of_request_in_one_execution(session, tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("PermitRootLogin no\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.rules").write_text("-w /etc/sudoers\n")
    (tmp_path / "link").symlink_to(tmp_path / "a.conf")
    facts = session.collect(
        [
            FileRequest(str(tmp_path / "a.conf"), content=True),
            FileRequest(str(tmp_path / "missing")),
            FileRequest(str(tmp_path / "sub")),
            DirectoryRequest(str(tmp_path)),
            CommandRequest(("echo", "hello world")),
            ProcessListRequest(),
        ]
    )
    assert facts[FileRequest(str(tmp_path / "a.conf"), True)] == FileFact(
        PathState.REGULAR, b"PermitRootLogin no\n"
    )
    assert facts[FileRequest(str(tmp_path / "missing"))].state is PathState.MISSING
    assert facts[FileRequest(str(tmp_path / "sub"))].state is PathState.DIRECTORY
    walk = facts[DirectoryRequest(str(tmp_path))]
    assert isinstance(walk, DirectoryFact)
    by_name = {e.name: e for e in walk.entries}
    assert set(by_name) == {"a.conf", "b.rules", "link"}
    assert by_name["link"].is_symlink and by_name["link"].regular
    command = facts[CommandRequest(("echo", "hello world"))]
    assert command == CommandFact(b"hello world\n", 0)
    processes = facts[ProcessListRequest()]
    assert isinstance(processes, ProcessListFact)
    assert any(p.pid == os.getpid() for p in processes.processes)
    assert session._transport.executions == 1


def test_stages_share_one_process(session, tmp_path: Path) -> None:
    first = session.collect([CommandRequest(("sh", "-c", "echo $$"))])
    second = session.collect([CommandRequest(("sh", "-c", "echo $PPID"))])
    assert session.stages == 2
    assert session._transport.executions == 1
    for facts in (first, second):
        (fact,) = facts.values()
        assert fact.output.strip().isdigit()


def test_commands_get_no_shell_and_merge_stderr(session) -> None:
    facts = session.collect(
        [
            CommandRequest(("echo", "a", "|", "b", "$HOME", ";", "x")),
            CommandRequest(("sh", "-c", "echo out; echo err >&2; exit 3")),
            CommandRequest(("no-such-command-bwk",)),
        ]
    )
    assert facts[CommandRequest(("echo", "a", "|", "b", "$HOME", ";", "x"))].output == (
        b"a | b $HOME ; x\n"
    )
    merged = facts[CommandRequest(("sh", "-c", "echo out; echo err >&2; exit 3"))]
    assert merged.output == b"out\nerr\n" and merged.exit_status == 3
    assert facts[CommandRequest(("no-such-command-bwk",))].not_found


@pytest.mark.slow  # a timer: waits out a command timeout
def test_a_command_that_never_ends_times_out_and_the_rest_goes_on(tmp_path: Path) -> None:
    collector = CollectorSession(LocalTransport(), limits=CollectorLimits(command_timeout=1))
    facts = collector.collect(
        [CommandRequest(("sleep", "1000")), CommandRequest(("echo", "after"))]
    )
    collector.close()
    assert facts[CommandRequest(("sleep", "1000"))].timed_out
    assert facts[CommandRequest(("echo", "after"))].output == b"after\n"


def test_a_64_mib_output_is_capped_with_bounded_memory(tmp_path: Path) -> None:
    limits = CollectorLimits(fact_cap=1024 * 1024, command_timeout=30)
    collector = CollectorSession(LocalTransport(), limits=limits)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    big = ("head", "-c", str(64 * 1024 * 1024), "/dev/zero")
    facts = collector.collect([CommandRequest(big), CommandRequest(("echo", "next"))])
    collector.close()
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    fact = facts[CommandRequest(big)]
    assert fact.truncated and len(fact.output) == limits.fact_cap
    assert facts[CommandRequest(("echo", "next"))].output == b"next\n"
    assert grown_kib < 32 * 1024, f"collector grew by {grown_kib} KiB for a 64 MiB output"


def test_binary_and_invalid_utf8_are_kept_as_bytes(session, tmp_path: Path) -> None:
    payload = bytes(range(256)) + b"\xff\xfe\xc3(\n"
    (tmp_path / "bin").write_bytes(payload)
    facts = session.collect([FileRequest(str(tmp_path / "bin"), content=True)])
    assert facts[FileRequest(str(tmp_path / "bin"), True)].content == payload


def test_a_file_that_forges_the_boundary_is_just_content(session, tmp_path: Path) -> None:
    forged = (
        f"{session.boundary} 1 regular 5\nhello\n{session.boundary} END 1 0\n"
        f"BWK-{'0' * 32} 99 regular 3\nabc"
    ).encode()
    (tmp_path / "forged").write_bytes(forged)
    facts = session.collect(
        [FileRequest(str(tmp_path / "forged"), content=True), CommandRequest(("echo", "ok"))]
    )
    assert facts[FileRequest(str(tmp_path / "forged"), True)].content == forged
    assert facts[CommandRequest(("echo", "ok"))].output == b"ok\n"


def test_a_command_printing_a_forged_frame_is_just_output(session) -> None:
    forged = f"{session.boundary} END 1 0"
    facts = session.collect(
        [CommandRequest(("echo", forged)), CommandRequest(("echo", "still here"))]
    )
    assert facts[CommandRequest(("echo", forged))].output == (forged + "\n").encode()
    assert facts[CommandRequest(("echo", "still here"))].output == b"still here\n"


def test_output_that_breaks_the_framing_makes_facts_unavailable_not_a_crash() -> None:
    # A hostile host whose shell prints garbage instead of running our script.
    transport = LocalTransport()
    collector = CollectorSession(
        transport, command="cat /dev/urandom | head -c 100000; cat >/dev/null"
    )
    facts = collector.collect([FileRequest("/etc/hostname", True), CommandRequest(("true",))])
    collector.close()
    assert all(isinstance(f, UnavailableFact) for f in facts.values())
    assert "unexpected collector output" in collector.broken


def test_unreadable_and_special_paths(session, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    facts = session.collect(
        [FileRequest(str(tmp_path / "fifo")), FileRequest(str(tmp_path / "dangling"))]
    )
    assert facts[FileRequest(str(tmp_path / "fifo"))].state is PathState.OTHER
    assert facts[FileRequest(str(tmp_path / "dangling"))].state is PathState.MISSING


def test_paths_and_arguments_with_quotes_are_passed_verbatim(session, tmp_path: Path) -> None:
    odd = tmp_path / 'it\'s a "file" $(reboot) `x`'
    odd.write_text("content\n")
    arg = 'it\'s $(id) `id` "q" \\ ;'
    facts = session.collect([FileRequest(str(odd), True), CommandRequest(("printf", "%s", arg))])
    assert facts[FileRequest(str(odd), True)].content == b"content\n"
    assert facts[CommandRequest(("printf", "%s", arg))].output == arg.encode()
