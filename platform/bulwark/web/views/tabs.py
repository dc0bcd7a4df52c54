"""The tabs of the manage pages: the kinds of manage.py, then the pages of their own."""

from __future__ import annotations

from typing import Any


def tabs(current: str) -> dict[str, Any]:
    """Context for web/_manage_tabs.html, with `current` marked as the page shown."""
    from bulwark.web.views.manage import KINDS

    return {"kinds": KINDS, "kind_name": current}
