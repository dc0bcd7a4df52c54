"""Rendering a report document to PDF with reportlab: header, filters, chart, table.

Every text that reaches a Paragraph is escaped: host names and check titles are data, and
reportlab's Paragraph would otherwise read `<...>` in them as markup.
"""

from __future__ import annotations

import io
from typing import Any
from xml.sax.saxutils import escape

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from bulwark.reports.documents import Chart, Report, when

PAGE = landscape(A4)
WIDTH = PAGE[0] - 30 * mm
PALETTE = [colors.HexColor(c) for c in ("#2e7d32", "#c62828", "#9e9e9e", "#1565c0", "#ef6c00")]
STATUS_COLOURS = {
    "passed": PALETTE[0],
    "failed": PALETTE[1],
    "not applicable": PALETTE[2],
    "excepted": PALETTE[4],
}
MAX_TEXT = 400  # characters of a cell shown in the PDF (descriptions can be long)
WEIGHTS = {"title": 3.0, "description": 3.0, "host": 2.0, "category": 2.0}
CHUNK = 100  # rows per table (see _table)

# The documents' column, filter, summary and series names stay English keys (JSON and CSV
# readers depend on them); the PDF shows them, and the status cells, in the active language.
LABELS = {
    "host": gettext_lazy("host"),
    "group": gettext_lazy("group"),
    "last audit": gettext_lazy("last audit"),
    "score": gettext_lazy("score"),
    "passed": gettext_lazy("passed"),
    "failed": gettext_lazy("failed"),
    "excepted": gettext_lazy("excepted"),
    "raw score": gettext_lazy("raw score"),
    "average raw score": gettext_lazy("average raw score"),
    "hosts excepted": gettext_lazy("hosts excepted"),
    "not applicable": gettext_lazy("not applicable"),
    "check": gettext_lazy("check"),
    "checks": gettext_lazy("checks"),
    "title": gettext_lazy("title"),
    "hosts failing": gettext_lazy("hosts failing"),
    "category": gettext_lazy("category"),
    "description": gettext_lazy("description"),
    "status": gettext_lazy("status"),
    "results": gettext_lazy("results"),
    "share %": gettext_lazy("share %"),
    "score %": gettext_lazy("score %"),
    "day": gettext_lazy("day"),
    "hosts audited": gettext_lazy("hosts audited"),
    "hosts": gettext_lazy("hosts"),
    "average score": gettext_lazy("average score"),
    "page": gettext_lazy("page"),
    "pages": gettext_lazy("pages"),
    "hosts per page": gettext_lazy("hosts per page"),
    "date_after": gettext_lazy("from"),
    "date_before": gettext_lazy("to"),
}


def label(name: str) -> str:
    """A document's key as the reader sees it (unknown keys as they are)."""
    found = LABELS.get(name)
    return str(found) if found is not None else name


# Japanese PDFs use reportlab's built-in CID font (the viewer supplies the glyphs: nothing to
# install or embed); every other language the standard Helvetica.
JAPANESE_FONT = "HeiseiKakuGo-W5"


def fonts() -> tuple[str, str]:
    """(regular, bold) font names for the active language."""
    if (translation.get_language() or "").startswith("ja"):
        if JAPANESE_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(JAPANESE_FONT))
            # One face for all: <b> in a paragraph must map to a font of the family.
            pdfmetrics.registerFontFamily(
                JAPANESE_FONT,
                normal=JAPANESE_FONT,
                bold=JAPANESE_FONT,
                italic=JAPANESE_FONT,
                boldItalic=JAPANESE_FONT,
            )
        return JAPANESE_FONT, JAPANESE_FONT
    return "Helvetica", "Helvetica-Bold"


def render(report: Report) -> bytes:
    """The report as a PDF document, in the active language's font."""
    styles = getSampleStyleSheet()
    regular, _bold = fonts()
    if regular != "Helvetica":
        for name in ("Title", "Normal", "Italic", "BodyText"):
            styles[name].fontName = regular
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=report.title,
        author="Bulwark",
    )
    story: list[Flowable] = [
        Paragraph(escape(report.title), styles["Title"]),
        Paragraph(
            escape(_("Generated %(when)s") % {"when": when(report.generated_at)}),
            styles["Normal"],
        ),
        Paragraph(
            " &nbsp; ".join(f"<b>{escape(label(k))}</b>: {escape(v)}" for k, v in report.filters),
            styles["Normal"],
        ),
    ]
    if report.summary:
        story.append(
            Paragraph(
                " &nbsp; ".join(
                    f"<b>{escape(label(str(k)))}</b>: {escape(_text(v))}"
                    for k, v in report.summary.items()
                ),
                styles["Normal"],
            )
        )
    story.append(Spacer(1, 6 * mm))
    if report.chart and report.chart.labels:
        story += [chart(report.chart), Spacer(1, 6 * mm)]
    story += _table(report, styles)
    document.build(story)
    return buffer.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _table(report: Report, styles: Any) -> list[Flowable]:
    if not report.rows:
        return [Paragraph(escape(_("No data for these filters.")), styles["Italic"])]
    cell = styles["BodyText"]
    cell.fontSize, cell.leading = 8, 10
    widths = _widths(report)
    status = report.columns.index("status") if "status" in report.columns else None
    # Text longer than its column wraps in a Paragraph (escaped); the rest stays a plain
    # string, which reportlab draws without parsing and much faster.
    room = [int(w / 4.2) for w in widths]  # characters of Helvetica 8 a column holds
    rows = [
        [
            Paragraph(escape(text[:MAX_TEXT]), cell) if len(text) > fits else text
            for text, fits in zip(
                (label(_text(v)) if i == status else _text(v) for i, v in enumerate(row)),
                room,
                strict=True,
            )
        ]
        for row in report.rows
    ]
    # Tables of CHUNK rows: reportlab re-measures a table's remaining rows at every page
    # break, so one 10,000-row table costs quadratic time; chunks keep it linear.
    return [_chunk(report.columns, rows[i : i + CHUNK], widths) for i in range(0, len(rows), CHUNK)]


def _chunk(columns: list[str], rows: list[list[Any]], widths: list[float]) -> Flowable:
    regular, bold = fonts()
    table = Table([[label(c) for c in columns], *rows], repeatRows=1, colWidths=widths)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), regular, 8),
                ("FONT", (0, 0), (-1, 0), bold, 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eceff1")),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0bec5")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _widths(report: Report) -> list[float]:
    """Text columns (titles, descriptions) get the room; numbers stay narrow."""
    weights = [WEIGHTS.get(c, 1.0) for c in report.columns]
    unit = WIDTH / sum(weights)
    return [w * unit for w in weights]


def chart(spec: Chart) -> Drawing:
    """A reportlab drawing of the chart."""
    if spec.kind == "pie":
        return _pie(spec)
    if spec.kind == "line":
        return _line(spec)
    return _bar(spec)


def _short(label: str, size: int = 28) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def _bar(spec: Chart) -> Drawing:
    labels = spec.labels[:30]
    height = max(120.0, 14.0 * len(labels) + 40)
    drawing = Drawing(WIDTH, height)
    bars = HorizontalBarChart()
    bars.x, bars.y = 160, 20
    bars.width, bars.height = WIDTH - 220, height - 40
    bars.data = [list(values[: len(labels)]) for values in spec.series.values()]
    bars.categoryAxis.categoryNames = [_short(text) for text in labels]
    bars.categoryAxis.labels.fontSize = 7
    bars.categoryAxis.labels.fontName = fonts()[0]  # host names may be Japanese
    bars.categoryAxis.reverseDirection = True  # the first row on top, as in the table
    bars.valueAxis.valueMin = 0
    bars.valueAxis.labels.fontSize = 7
    bars.bars[0].fillColor = PALETTE[3]
    bars.barLabelFormat = "%g"
    bars.barLabels.fontSize = 6
    bars.barLabels.boxAnchor = "w"
    drawing.add(bars)
    return drawing


def _pie(spec: Chart) -> Drawing:
    drawing = Drawing(WIDTH, 170)
    values = next(iter(spec.series.values()))
    pie = Pie()
    # Side labels hang left and right of the pie: room on both sides, so none is cut.
    pie.x, pie.y, pie.width, pie.height = 220, 10, 150, 150
    shown = [(name, v) for name, v in zip(spec.labels, values, strict=True) if v]
    pie.data = [v for _, v in shown] or [1]
    pie.labels = [f"{label(name)} ({v:g})" for name, v in shown] or [_("no results")]
    pie.simpleLabels = True
    pie.slices.fontName = fonts()[0]
    pie.sideLabels = True
    for index, (name, _value) in enumerate(shown):
        pie.slices[index].fillColor = STATUS_COLOURS.get(name, PALETTE[index % len(PALETTE)])
    drawing.add(pie)
    return drawing


def _line(spec: Chart) -> Drawing:
    drawing = Drawing(WIDTH, 200)
    lines = HorizontalLineChart()
    lines.x, lines.y, lines.width, lines.height = 40, 40, WIDTH - 160, 150
    lines.data = [list(values) for values in spec.series.values()]
    step = max(1, len(spec.labels) // 12)
    lines.categoryAxis.categoryNames = [
        label[5:] if i % step == 0 else "" for i, label in enumerate(spec.labels)
    ]
    lines.categoryAxis.labels.fontSize = 7
    lines.categoryAxis.labels.fontName = fonts()[0]
    lines.categoryAxis.labels.angle = 45
    lines.categoryAxis.labels.boxAnchor = "ne"
    lines.valueAxis.valueMin = 0
    lines.valueAxis.labels.fontSize = 7
    for index, name in enumerate(spec.series):
        lines.lines[index].strokeColor = STATUS_COLOURS.get(name, PALETTE[index])
        lines.lines[index].strokeWidth = 1.5
        # A marker on every point: one day of data is a point, which a line alone never shows.
        marker = makeMarker("FilledCircle")
        marker.size = 5 if len(spec.labels) == 1 else 3
        marker.fillColor = lines.lines[index].strokeColor
        lines.lines[index].symbol = marker
    drawing.add(lines)
    legend = Legend()
    legend.x, legend.y = WIDTH - 100, 150
    legend.fontSize = 8
    legend.fontName = fonts()[0]
    legend.colorNamePairs = [
        (STATUS_COLOURS.get(name, PALETTE[i]), label(name)) for i, name in enumerate(spec.series)
    ]
    drawing.add(legend)
    return drawing
