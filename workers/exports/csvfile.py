"""CSV: one row per host and check, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

from workers.exports.model import Run

COLUMNS = ("host", "address", "policy", "check_id", "title", "status", "category", "reason")
# A cell starting with one of these runs as a formula in a spreadsheet (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def render(run: Run) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for host in run.hosts:
        if not host.audited:
            writer.writerow(
                [_safe(v) for v in (host.name, host.address, "", "", "", "error")]
                + ["", _safe(host.error)]
            )
        for result in host.results:
            row = (
                host.name,
                host.address,
                result.policy_id,
                result.check_id,
                result.title,
                result.status,
                result.category,
                result.reason,
            )
            writer.writerow([_safe(value) for value in row])
    return buffer.getvalue().encode("utf-8")
