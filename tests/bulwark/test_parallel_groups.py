"""The platform's database tests spread over the xdist workers (tests/parallel.py)."""

from __future__ import annotations

import pytest

from tests.parallel import groups_of


def test_a_database_test_is_in_no_xdist_group(request: pytest.FixtureRequest, db: None) -> None:
    # tests/bulwark/conftest.py extends the session fixture django_db_setup: were it taken for
    # a shared fixture, every database test would run on one worker, one after another.
    assert groups_of(request.node) == set()
