"""Finding: control characters (ESC, BEL, NUL, right-to-left override) from hosts and policies
reached HTML and CSV raw, and the CSV formula guard missed a leading blank. They are now shown
as visible escapes at output; what is stored does not change."""

from __future__ import annotations

import csv
import io

from django.test import Client

from bulwark.audits.models import Result
from bulwark.core.display import csv_cell, visible
from tests.bulwark.reports.fleet import HOSTILE, Fleet

TITLE_TRICK = "\x1b]0;owned\x07"
RLO = "\u202e"


def _client(fleet: Fleet) -> Client:
    client = Client()
    client.force_login(fleet.users["alice"])
    return client


def test_hostile_evidence_and_names_are_visible_escapes_in_the_pages(fleet: Fleet) -> None:
    audit = fleet.audits[HOSTILE]
    result = audit.results.order_by("pk").first()
    assert result is not None
    evidence = [
        {"rule": "f:/etc/motd", "result": "found", "line": f"ok{TITLE_TRICK}\x9b{RLO}txt.exe"}
    ]
    Result.objects.filter(pk=result.pk).update(evidence=evidence)
    host = fleet.hosts[HOSTILE]
    host.reported_hostname = f"db{RLO}gpj.exe"
    host.save()
    client = _client(fleet)
    for url in (f"/audits/{audit.pk}/results/{result.pk}/", f"/hosts/{host.pk}/"):
        body = client.get(url).content.decode()
        assert "\x1b" not in body and "\x07" not in body and "\x9b" not in body, url
        assert RLO not in body, url
    body = client.get(f"/audits/{audit.pk}/results/{result.pk}/").content.decode()
    # Shown as escapes: the evidence table shows the line as found, the page escapes it.
    assert "ok\\x1b]0;owned\\x07\\x9b\\u202etxt.exe" in body
    stored = Result.objects.get(pk=result.pk).evidence[0]["line"]
    assert stored == f"ok{TITLE_TRICK}\x9b{RLO}txt.exe"  # evidence as collected


def test_csv_cells_are_escaped_and_formulas_quoted_even_after_blanks(fleet: Fleet) -> None:
    host = fleet.hosts[HOSTILE]
    host.name = ' =HYPERLINK("http://x")' + RLO
    host.save()
    body = _client(fleet).get("/api/reports/worst-hosts.csv").content.decode()
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert '\' =HYPERLINK("http://x")\\u202e' in cells
    assert RLO not in body


def test_the_rules_of_visible_and_csv_cell() -> None:
    assert visible("a\tb\nc\x1b[31m\x9b") == "a\tb\nc\\x1b[31m\\x9b"
    assert visible("\u2066x\u2069\u200f") == "\\u2066x\\u2069\\u200f"
    for formula in ("=1+1", " =1+1", "\n=1", "\t@SUM(A1)", "  -2+3", "+1"):
        assert str(csv_cell(formula)).startswith("'"), formula
    assert csv_cell("web-01") == "web-01" and csv_cell(None) == "" and csv_cell(3) == 3
