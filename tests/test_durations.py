"""The suite's work is handed out longest first (tests/durations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.durations import from_junit, longest_first, unit_of


class Item:
    """What longest_first reads of a pytest item: its node id and its xdist_group marks."""

    def __init__(self, nodeid: str, group: str | None = None) -> None:
        self.nodeid = nodeid
        self.group = group

    def iter_markers(self, name: str) -> list[Any]:
        if name != "xdist_group" or self.group is None:
            return []
        return [pytest.mark.xdist_group(self.group).mark]


def test_a_test_in_no_group_is_its_own_unit_named_as_junit_names_it() -> None:
    assert unit_of("tests/a/test_b.py::test_c[x]", set()) == "tests.a.test_b::test_c[x]"
    assert unit_of("tests/a/test_b.py::Case::test_c", set()) == "tests.a.test_b.Case::test_c"
    # "::" inside the parameters (an IPv6 address) is not a class.
    assert unit_of("tests/t.py::test_ip[::1]", set()) == "tests.t::test_ip[::1]"
    assert unit_of("tests/t.py::test_c", {"hosts"}) == "hosts"
    # xdist runs a test of several groups in one scope named after all of them.
    assert unit_of("tests/t.py::test_c", {"lab", "hosts"}) == "hosts_lab"


def test_the_longest_units_come_first_each_whole_and_the_unknown_after() -> None:
    items = [
        Item("tests/t.py::test_short"),
        Item("tests/t.py::test_unknown"),
        Item("tests/g.py::test_one", "batch"),
        Item("tests/t.py::test_long"),
        Item("tests/g.py::test_two", "batch"),
        Item("tests/t.py::test_unknown_too"),
    ]
    seconds = {"tests.t::test_short": 12.0, "tests.t::test_long": 300.0, "batch": 50.0}
    longest_first(items, seconds)  # type: ignore[arg-type]
    assert [i.nodeid.split("::")[1] for i in items] == [
        "test_long",
        "test_one",
        "test_two",
        "test_short",
        "test_unknown",
        "test_unknown_too",
    ]


def test_a_junit_report_gives_each_unit_s_seconds(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        "<testsuites><testsuite>"
        '<testcase classname="tests.t" name="test_a@batch" time="8"/>'
        '<testcase classname="tests.t" name="test_b@batch" time="7"/>'
        '<testcase classname="tests.t" name="test_url[mysql://x@y/z]" time="11"/>'
        '<testcase classname="tests.t" name="test_quick" time="1"/>'
        "</testsuite></testsuites>"
    )
    assert from_junit(str(report)) == {"batch": 15, "tests.t::test_url[mysql://x@y/z]": 11}
