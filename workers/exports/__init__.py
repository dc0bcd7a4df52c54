"""Standard exports of audit results (JUnit, SARIF, OSCAL, HTML, CSV), shared by CLI and platform.

`render(kind, run)` returns the document's bytes; `MEDIA_TYPES` and `SUFFIXES` name them.
"""

from __future__ import annotations

from collections.abc import Callable

from workers.exports import csvfile, htmlpage, junit, oscal, sarif
from workers.exports.model import Run

RENDERERS: dict[str, Callable[[Run], bytes]] = {
    "junit": junit.render,
    "sarif": sarif.render,
    "oscal": oscal.render,
    "html": htmlpage.render,
    "csv": csvfile.render,
}
MEDIA_TYPES = {
    "junit": "application/xml",
    "sarif": "application/sarif+json",
    "oscal": "application/json",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
}
SUFFIXES = {
    "junit": ".junit.xml",
    "sarif": ".sarif",
    "oscal": ".oscal-ar.json",
    "html": ".html",
    "csv": ".csv",
}


def render(kind: str, run: Run) -> bytes:
    """The export `kind` of `run`. Raises KeyError for an unknown kind."""
    return RENDERERS[kind](run)
