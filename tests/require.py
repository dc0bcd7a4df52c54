"""`require(condition, reason)`: the one way a test says "this needs something the machine may
lack". Without it the test is skipped with the reason; under CI=true it fails instead, because
CI must never pass by skipping."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require(condition: object, reason: str) -> None:
    """Return when `condition` holds; otherwise skip with `reason`, or fail under CI=true."""
    __tracebackhide__ = True  # reports name the test that required, not this line
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {reason}", pytrace=False)
    pytest.skip(reason)
