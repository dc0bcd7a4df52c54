"""The page charts stay readable at the edges: one day of data is a visible, labelled point;
the first and last date labels hang inwards, so the chart's box never cuts them."""

from __future__ import annotations

import re

from bulwark.web import charts


def test_one_day_of_data_is_a_big_labelled_point() -> None:
    svg = charts.line_chart(["2026-05-01"], {"passed": [12], "failed": [3]})
    assert svg.count('r="5"') == 2
    assert ">12</text>" in svg and ">3</text>" in svg
    assert ">05-01</text>" in svg


def test_the_edge_labels_hang_inwards() -> None:
    days = [f"2026-05-{d:02d}" for d in range(1, 31)]
    svg = charts.line_chart(days, {"passed": list(range(30))}, width=640)
    anchors = re.findall(r'text-anchor="(\w+)">(\d\d-\d\d)</text>', svg)
    assert anchors[0] == ("start", "05-01")
    assert all(anchor == "middle" for anchor, _ in anchors[1:-1])
    last = anchors[-1]
    assert last[0] == "end" or last[1] != "05-30"
