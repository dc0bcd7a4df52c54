"""Builders for evaluation tests: a one-check policy from rule strings, and facts by hand."""

from __future__ import annotations

import json
from collections.abc import Sequence

from workers.engine.definitions import Dialect, PolicyDefinition
from workers.engine.facts import (
    CommandFact,
    CommandRequest,
    DirectoryEntry,
    DirectoryFact,
    DirectoryRequest,
    Facts,
    FileFact,
    FileRequest,
    PathState,
    ProcessInfo,
    ProcessListFact,
    ProcessListRequest,
)
from workers.engine.policy import load_policy_text
from workers.engine.rules import tokenize_command


def make_policy(
    rules: Sequence[str],
    *,
    dialect: Dialect = Dialect.W4,
    condition: str = "all",
    requirements: Sequence[str] | None = None,
    variables: dict[str, str] | None = None,
) -> PolicyDefinition:
    title = "title" if dialect is Dialect.W4 else "name"
    text = "policy: {id: t, file: t.yml, name: test, description: d}\n"
    if variables:
        text += "variables:\n" + "".join(
            f"  {json.dumps(k)}: {json.dumps(v)}\n" for k, v in variables.items()
        )
    if requirements is not None:
        text += (
            f"requirements:\n  {title}: req\n  description: d\n  condition: all\n"
            f"  rules: {json.dumps(list(requirements))}\n"
        )
    text += (
        f"checks:\n  - id: 1\n    {title}: the check\n    condition: {condition}\n"
        f"    rules: {json.dumps(list(rules))}\n"
    )
    result = load_policy_text(text, "test.yml", dialect=dialect)
    assert result.policy is not None, result.errors
    return result.policy


class FactsBuilder:
    """Facts as a collector would return them."""

    def __init__(self) -> None:
        self.facts = Facts()

    def file(
        self, path: str, content: str | bytes | None = "", state: PathState = PathState.REGULAR
    ) -> FactsBuilder:
        data = content.encode() if isinstance(content, str) else content
        if state is not PathState.REGULAR:
            data = None
        self.facts.by_request[FileRequest(path, content=True)] = FileFact(state, data)
        return self

    def missing(self, path: str) -> FactsBuilder:
        return self.file(path, None, PathState.MISSING)

    def command(
        self, command: str, output: str, status: int = 0, *, timed_out: bool = False
    ) -> FactsBuilder:
        self.facts.by_request[CommandRequest(tokenize_command(command))] = CommandFact(
            output.encode(), status, timed_out=timed_out, not_found=status in (126, 127)
        )
        return self

    def directory(self, path: str, entries: Sequence[tuple[str, bool, bool]] = ()) -> FactsBuilder:
        self.facts.by_request[FileRequest(path, content=True)] = FileFact(PathState.DIRECTORY)
        self.facts.by_request[DirectoryRequest(path)] = DirectoryFact(
            PathState.DIRECTORY, tuple(DirectoryEntry(*e) for e in entries)
        )
        return self

    def processes(self, *names: tuple[str, str]) -> FactsBuilder:
        self.facts.by_request[ProcessListRequest()] = ProcessListFact(
            tuple(ProcessInfo(i + 1, name, args) for i, (name, args) in enumerate(names))
        )
        return self
