"""Longest first: the order in which pytest-xdist hands out the suite's work.

Under `--dist loadgroup` a worker takes the next unit of work (an `xdist_group`, or one test
outside any group) whenever it has two tests or fewer left. Handed out in collection order
(xdist sorts groups by their number of tests, and the tests outside any group come last), the
Ansible remediation proofs, minutes each, started last: in one CI run the longest ran alone for
its last five minutes. So the collection is ordered by how long each unit took in a CI run,
longest first (list scheduling: no worker is left with a long unit at the end), and the Makefile
passes `--no-loadscope-reorder` so xdist keeps this order. Measured, it saves little (24 s of
27 minutes): both cores are busy through a run, so the suite's time is its CPU work, and a test
running alone at the end runs faster. It keeps a new long test from stretching the run's end.

`durations.json` beside this file holds the units that took 10 s or more: made from a CI run's
JUnit report (`pytest --junitxml=FILE`, e.g. `PYTEST_ADDOPTS=--junitxml=/tmp/ci.xml .ci/run`):

    .venv/bin/python -m tests.durations /tmp/ci.xml > tests/durations.json

A unit missing from it (new, renamed) runs after the known ones, in collection order; a stale
figure changes only the order, never what runs.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from tests.parallel import groups_of

DURATIONS = Path(__file__).with_name("durations.json")
RECORDED_FROM_SECONDS = 10.0


def unit_of(nodeid: str, groups: set[str] | frozenset[str]) -> str:
    """A test's unit of work: its xdist group (several joined as xdist joins them into one), or
    (in no group) the test as the JUnit report names it, `classname::name`."""
    if groups:
        return "_".join(sorted(groups))
    path, _, rest = nodeid.partition("::")
    function, bracket, parameters = rest.partition("[")  # parameters may hold "::" (IPv6)
    *classes, name = function.split("::")
    name += bracket + parameters
    classname = ".".join([path.removesuffix(".py").replace("/", "."), *classes])
    return f"{classname}::{name}"


def recorded() -> dict[str, float]:
    if not DURATIONS.exists():
        return {}
    figures = json.loads(DURATIONS.read_text())
    return {str(unit): float(seconds) for unit, seconds in figures.items()}


def longest_first(items: list[pytest.Item], seconds: dict[str, float]) -> None:
    """Sort the items in place: units by their recorded seconds, longest first, each unit's
    tests together in collection order; units without a figure after, in collection order."""
    units = [unit_of(item.nodeid, groups_of(item)) for item in items]
    first_seen: dict[str, int] = {}
    for index, unit in enumerate(units):
        first_seen.setdefault(unit, index)
    order = sorted(
        range(len(items)),
        key=lambda i: (-seconds.get(units[i], 0.0), first_seen[units[i]], i),
    )
    items[:] = [items[i] for i in order]


def from_junit(report: str) -> dict[str, float]:
    """Each unit's seconds in a JUnit report of a run under xdist (which names a grouped test
    `name@group`), the units of `RECORDED_FROM_SECONDS` or more, longest first."""
    totals: Counter[str] = Counter()
    # The report is pytest's own, of our own run: not untrusted input.
    for case in ET.parse(report).iter("testcase"):  # noqa: S314
        name, _, group = case.get("name", "").rpartition("@")
        if not name or "]" in group:  # no group: an "@" of the test's parameters
            name, group = case.get("name", ""), ""
        totals[group or f"{case.get('classname')}::{name}"] += float(case.get("time", 0))
    return {
        unit: round(seconds)
        for unit, seconds in totals.most_common()
        if seconds >= RECORDED_FROM_SECONDS
    }


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.durations JUNIT.xml > tests/durations.json")
    json.dump(from_junit(sys.argv[1]), sys.stdout, indent=1)
    sys.stdout.write("\n")
