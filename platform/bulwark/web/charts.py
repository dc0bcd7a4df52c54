"""Small server-side SVG charts: no JavaScript, no build step, nothing fetched from elsewhere.

Labels are data (host names, check titles): every text goes through escape().
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

COLOURS = {"passed": "#2e7d32", "failed": "#c62828", "not applicable": "#9e9e9e"}
DEFAULT = ["#1565c0", "#ef6c00", "#6a1b9a", "#00838f"]
# Series names are ours (keys of COLOURS): shown in the active language.
SERIES = {
    "passed": gettext_lazy("passed"),
    "failed": gettext_lazy("failed"),
    "not applicable": gettext_lazy("not applicable"),
    "score": gettext_lazy("score"),
    "raw score": gettext_lazy("raw score"),
    "excepted": gettext_lazy("excepted"),
}


def _series_label(name: str) -> str:
    return str(SERIES.get(name, name))


def _empty() -> SafeString:
    return mark_safe(f'<p class="empty">{escape(_("No data in this range."))}</p>')  # noqa: S308


def _colour(name: str, index: int) -> str:
    return COLOURS.get(name, DEFAULT[index % len(DEFAULT)])


def _short(label: str, size: int = 30) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def line_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    width: int = 640,
    height: int = 200,
    top: float | None = None,
) -> SafeString:
    """Lines over labels (dates); `top` fixes the scale (100 for scores)."""
    if not labels:
        return _empty()
    left, bottom, pad = 40, 30, 10
    values = [v for s in series.values() for v in s if v is not None]
    peak = top or max(values or [1]) or 1
    span_x = max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return left + (width - left - pad) * (i / span_x if len(labels) > 1 else 0.5)

    def y(v: float) -> float:
        return pad + (height - bottom - pad) * (1 - v / peak)

    parts = [_axes(width, height, left, bottom, pad, peak)]
    for index, (name, points) in enumerate(series.items()):
        coords = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(points) if v is not None]
        colour = _colour(name, index)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(coords)}"><title>{escape(_series_label(name))}</title></polyline>'
        )
        single = len(labels) == 1  # one day of data: a point, drawn big and labelled
        for i, v in enumerate(points):
            if v is not None:
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{5 if single else 2.5}" '
                    f'fill="{colour}"><title>{escape(labels[i])}: '
                    f"{escape(_series_label(name))} {v:g}</title>"
                    "</circle>"
                )
                if single:
                    parts.append(
                        f'<text x="{x(i) + 9:.1f}" y="{y(v) + 4:.1f}" font-size="11" '
                        f'fill="{colour}">{v:g}</text>'
                    )
        parts.append(
            f'<text x="{left + 10 + 110 * index}" y="{height - 5}" fill="{colour}" '
            f'font-size="11">■ {escape(_series_label(name))}</text>'
        )
    step = max(1, len(labels) // 6)
    for i in range(0, len(labels), step):
        # The first and last labels hang inwards so the chart's edges never cut them.
        anchor = "start" if i == 0 and len(labels) > 1 else "middle"
        if i == len(labels) - 1 and len(labels) > 1:
            anchor = "end"
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - bottom + 14}" font-size="10" '
            f'text-anchor="{anchor}">{escape(labels[i][-5:])}</text>'
        )
    return _svg(width, height, parts)


def bar_chart(
    labels: Sequence[str], values: Sequence[float], *, top: float | None = None, colour: str = ""
) -> SafeString:
    """Horizontal bars, one per label, value printed at the end."""
    if not labels:
        return _empty()
    width, row, left = 640, 20, 220
    height = row * len(labels) + 10
    peak = top or max(values) or 1
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 5 + i * row
        length = (width - left - 60) * (value / peak)
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" font-size="11" text-anchor="end">'
            f"{escape(_short(label))}<title>{escape(label)}</title></text>"
            f'<rect x="{left}" y="{y + 2}" width="{max(length, 1):.1f}" height="{row - 6}" '
            f'fill="{escape(colour or DEFAULT[0])}"/>'
            f'<text x="{left + length + 4:.1f}" y="{y + 13}" font-size="11">{value:g}</text>'
        )
    return _svg(width, height, parts)


def _axes(width: int, height: int, left: int, bottom: int, pad: int, peak: float) -> str:
    return (
        f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{height - bottom}" stroke="#90a4ae"/>'
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - pad}" y2="{height - bottom}" '
        f'stroke="#90a4ae"/>'
        f'<text x="{left - 4}" y="{pad + 8}" font-size="10" text-anchor="end">{peak:g}</text>'
        f'<text x="{left - 4}" y="{height - bottom}" font-size="10" text-anchor="end">0</text>'
    )


def _svg(width: int, height: int, parts: list[str]) -> SafeString:
    body = "".join(parts)
    # Every interpolated text above was escaped; numbers and colours are ours.
    return mark_safe(  # noqa: S308
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" xmlns="http://www.w3.org/2000/svg">{body}</svg>'
    )
