"""Rendering a report document as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json

from bulwark.reports.documents import Report

# A cell starting with one of these runs as a formula in a spreadsheet (CSV injection).
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def to_json(report: Report) -> bytes:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=1).encode()


def to_csv(report: Report) -> bytes:
    """Columns then rows; text cells that a spreadsheet would evaluate are quoted with '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(report.columns)
    for row in report.rows:
        writer.writerow(
            [
                "'" + v
                if isinstance(v, str) and v.startswith(_FORMULA)
                else ("" if v is None else v)
                for v in row
            ]
        )
    return buffer.getvalue().encode()
