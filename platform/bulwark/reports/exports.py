"""Rendering a report document as JSON or CSV."""

from __future__ import annotations

import csv
import io
import json

from bulwark.core.display import csv_cell
from bulwark.reports.documents import Report


def to_json(report: Report) -> bytes:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=1).encode()


def to_csv(report: Report) -> bytes:
    """Columns then rows; control characters shown as escapes, and text cells that a
    spreadsheet would evaluate (even after blanks) quoted with '."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in report.columns])
    for row in report.rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue().encode()
