"""Fixtures of the report tests: the seed fleet."""

from __future__ import annotations

import pytest

from tests.bulwark.reports.fleet import Fleet, build


@pytest.fixture
def fleet(db: None) -> Fleet:
    return build()
