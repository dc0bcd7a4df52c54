"""Audit many hosts in parallel: one thread per host up to --forks, one failure never stops the
others, a live progress display on a terminal and plain lines otherwise."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from workers.audit import AuditError, AuditOutcome, run
from workers.cli.targets import HostTarget, TargetError, open_transport
from workers.engine.definitions import PolicyDefinition
from workers.transports.base import TransportError


@dataclass(frozen=True)
class HostRun:
    """One host's audit in a CLI run: an outcome, or the error that stopped it."""

    target: HostTarget
    started: datetime
    seconds: float
    outcome: AuditOutcome | None = None
    error: str = ""
    host_key: str = ""  # trust on first use: the key seen, to pin

    @property
    def status(self) -> str:
        return "audited" if self.outcome is not None else "error"


def audit_one(
    target: HostTarget, policies: Sequence[PolicyDefinition], args: argparse.Namespace
) -> HostRun:
    """Audit one host; every expected failure becomes the HostRun's error, never an exception."""
    started = datetime.now(UTC)
    clock = time.monotonic()

    def failed(message: str) -> HostRun:
        return HostRun(target, started, time.monotonic() - clock, error=message)

    try:
        transport = open_transport(target, args)
        with transport:
            outcome = run(transport, policies, command_timeout=args.timeout)
            seen = transport.seen_host_keys().host or ""
    except TargetError as exc:
        return failed(f"configuration: {exc}")
    except TransportError as exc:
        kind = "permanent" if exc.permanent else "transient"
        return failed(f"{kind} transport error: {exc}")
    except AuditError as exc:
        return failed(f"audit error: {exc}")
    except Exception as exc:  # the orchestration boundary: one host's bug never stops the rest
        return failed(f"unexpected error: {type(exc).__name__}: {exc}")
    return HostRun(target, started, time.monotonic() - clock, outcome=outcome, host_key=seen)


def line_for(result: HostRun) -> str:
    """The one-line status of a finished host."""
    if result.outcome is None:
        return f"{result.target.name}: ERROR {result.error}"
    summary = result.outcome.summary
    shown = "n/a" if summary.score is None else f"{summary.score:.2f}"
    return (
        f"{result.target.name}: passed {summary.passed}, failed {summary.failed}, "
        f"not applicable {summary.not_applicable}, score {shown} ({result.seconds:.1f} s)"
    )


def audit_fleet(
    targets: Sequence[HostTarget],
    policies: Sequence[PolicyDefinition],
    args: argparse.Namespace,
    *,
    stream: TextIO | None = None,
    audit: Callable[[HostTarget, Sequence[PolicyDefinition], argparse.Namespace], HostRun]
    | None = None,
) -> list[HostRun]:
    """Every target's HostRun, in the targets' order, with progress on `stream` (stderr)."""
    out = stream or sys.stderr
    work = audit or audit_one
    done: dict[int, HostRun] = {}
    live = out.isatty() and not getattr(args, "no_progress", False)
    with ThreadPoolExecutor(max_workers=max(1, args.forks)) as pool:
        futures: dict[Future[HostRun], int] = {
            pool.submit(work, target, policies, args): index for index, target in enumerate(targets)
        }
        if live:
            _live(futures, done, len(targets), out)
        else:
            for count, future in enumerate(as_completed(futures), start=1):
                result = done[futures[future]] = future.result()
                print(f"[{count}/{len(targets)}] {line_for(result)}", file=out, flush=True)
    return [done[index] for index in range(len(targets))]


def _live(
    futures: dict[Future[HostRun], int], done: dict[int, HostRun], total: int, out: TextIO
) -> None:
    # rich is imported only on a terminal, so batch runs never need it.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.text import Text

    console = Console(file=out)
    columns = (
        TextColumn("auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} not audited"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("hosts", total=total, failed=0)
        errors = 0
        for future in as_completed(futures):
            result = done[futures[future]] = future.result()
            errors += result.outcome is None
            style = "red" if result.outcome is None else "green"
            # Text, not markup: a host's error may hold brackets.
            progress.console.print(Text(line_for(result), style=style))
            progress.update(task, advance=1, failed=errors)
