"""The skip-here, fail-in-CI helper."""

from __future__ import annotations

import pytest

from tests.require import require


def test_it_returns_when_the_condition_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    require(True, "never shown")


def test_it_skips_outside_ci_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="no sshd here"):
        require(False, "no sshd here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI: no sshd here"):
        require(False, "no sshd here")
