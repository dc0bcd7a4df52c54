"""Fixtures of the page tests: the seed fleet of the report tests, and the two-group world of
the isolation tests."""

from __future__ import annotations

import pytest

from tests.bulwark.reports.fleet import Fleet, build
from tests.bulwark.world import World, build_world


@pytest.fixture
def fleet(db: None) -> Fleet:
    return build()


@pytest.fixture
def world(db: None) -> World:
    return build_world()
