"""Fixtures of the page tests: the seed fleet of the report tests."""

from __future__ import annotations

import pytest

from tests.bulwark.reports.fleet import Fleet, build


@pytest.fixture
def fleet(db: None) -> Fleet:
    return build()
