"""The `auditor` scenario key (tests/rulesets/scenarios.py): a host whose auditor's sudo rule
asks for its password, for the checks that fail on any NOPASSWD rule (5.2.4)."""

from __future__ import annotations

import pytest

from tests.rulesets.batches import AUDITOR_SUDOERS, touched
from tests.rulesets.scenarios import host_spec


def test_the_key_gives_the_auditor_a_password_and_a_sudo_rule_that_asks_for_it() -> None:
    (default,) = host_spec("h", {}, {}).users
    (asking,) = host_spec("h", {}, {"auditor": {"sudo": "password"}}).users
    assert (default.name, default.sudo, default.password) == ("auditor", "nopasswd", None)
    assert (asking.name, asking.sudo) == ("auditor", "password")
    assert asking.password and len(asking.password) >= 20
    for bad in ({"sudo": "maybe"}, {"sudo": "password", "user": "root"}):
        with pytest.raises(ValueError, match="auditor takes"):
            host_spec("h", {}, {"auditor": bad})


def test_it_conflicts_with_scenarios_that_change_the_sudoers_drop_ins() -> None:
    asking = touched({"auditor": {"sudo": "password"}})
    drop_in = touched({"files": {"/etc/sudoers.d/60-cis": "Defaults use_pty\n"}})
    unrelated = touched({"files": {"/etc/issue": "Authorised use only.\n"}})
    assert asking is not None and drop_in is not None and unrelated is not None
    assert ("path", AUDITOR_SUDOERS) in asking
    assert asking & drop_in
    assert not asking & unrelated
