"""The PDF charts draw inside their drawing (no label cut at an edge) and show one day of data
as points."""

from __future__ import annotations

import pytest
from reportlab.graphics.charts.linecharts import HorizontalLineChart

from bulwark.reports import pdf
from bulwark.reports.documents import Chart

DAYS = [f"2026-05-{d:02d}" for d in range(1, 31)]
SPECS = {
    "line, one day": Chart("line", DAYS[:1], {"passed": [3], "failed": [10000]}),
    "line, a month": Chart("line", DAYS, {"passed": list(range(30)), "failed": [5] * 30}),
    "pie": Chart("pie", ["passed", "failed", "not applicable"], {"results": [50, 40, 900]}),
    "pie, one slice": Chart("pie", ["passed", "failed"], {"results": [7, 0]}),
    "bar": Chart(
        "bar",
        ["Secure Configuration of Enterprise Assets and Software", "Data Recovery"],
        {"failed": [3, 100000]},
    ),
}


@pytest.mark.parametrize("name", list(SPECS))
def test_nothing_is_drawn_outside_the_drawing(name: str) -> None:
    drawing = pdf.chart(SPECS[name])
    x0, y0, x1, y1 = drawing.getBounds()
    assert x0 >= 0 and y0 >= 0, (name, drawing.getBounds())
    assert x1 <= drawing.width and y1 <= drawing.height, (name, drawing.getBounds())


def test_one_day_of_data_is_drawn_as_points() -> None:
    drawing = pdf.chart(SPECS["line, one day"])
    (lines,) = [c for c in drawing.contents if isinstance(c, HorizontalLineChart)]
    assert lines.lines[0].symbol is not None and lines.lines[0].symbol.size == 5
