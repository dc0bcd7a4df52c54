"""One verdict per CIS recommendation across our Linux policies.

Checks of Debian 12, Ubuntu 22.04, Ubuntu 24.04 and the OpenSSH CIS policy that name the same CIS
recommendation (same title, number aside) must judge it with the same condition and rules, so a
host gets the same verdict whichever policy audits it. A real platform difference is listed in
PLATFORM_DIFFERENCES with its reason, and the check says so in its description; an entry that no
longer diverges fails the test, so the list stays a reviewed record, not a backlog.
"""

from __future__ import annotations

from collections import defaultdict

from tests.rulesets.cis_references import normalise_title
from tests.rulesets.scenarios import ROOT
from workers.engine.definitions import CheckDefinition
from workers.engine.policy import load_policy

POLICIES = ("bulwark_debian12", "bulwark_ubuntu2204", "bulwark_ubuntu2404", "bulwark_openssh_cis")

# Normalised title -> why the policies rightly judge it differently.
PLATFORM_DIFFERENCES: dict[str, str] = {
    "ensure latest version of pam is installed": (
        "each benchmark names the libpam-runtime release of its own distribution as the minimum "
        "(Debian 12 1.5.2-6, Ubuntu 22.04 1.4.0-11ubuntu2, Ubuntu 24.04 1.5.3-5): the rules "
        "differ only in that version"
    ),
}


def _groups() -> dict[str, list[CheckDefinition]]:
    groups: dict[str, list[CheckDefinition]] = defaultdict(list)
    for policy_id in POLICIES:
        loaded = load_policy(ROOT / "rulesets" / "linux" / f"{policy_id}.yml")
        assert loaded.policy is not None, loaded.errors
        for check in loaded.policy.checks:
            if check.compliance.get("cis"):
                groups[normalise_title(check.title)].append(check)
    return groups


def _logic(check: CheckDefinition) -> tuple[str, tuple[str, ...]]:
    return check.condition.value, tuple(rule.raw for rule in check.rules)


def _divergent() -> dict[str, list[str]]:
    return {
        title: [check.id for check in checks]
        for title, checks in _groups().items()
        if len({_logic(check) for check in checks}) > 1
    }


def test_checks_of_one_recommendation_share_their_rules_or_say_why() -> None:
    explained = set(PLATFORM_DIFFERENCES)
    new = {title: ids for title, ids in _divergent().items() if title not in explained}
    assert not new, "same CIS item, different rules (unify them or document why):\n" + "\n".join(
        f"{title}: {', '.join(ids)}" for title, ids in sorted(new.items())
    )


def test_the_lists_of_differences_hold_no_stale_entry() -> None:
    divergent = set(_divergent())
    stale = set(PLATFORM_DIFFERENCES) - divergent
    assert not stale, f"these now share their rules; remove them from the list: {sorted(stale)}"
    assert all(len(reason) > 30 for reason in PLATFORM_DIFFERENCES.values())


def test_the_comparison_tells_different_rules_apart() -> None:
    groups = _groups()
    title = normalise_title("Ensure journald Compress is configured")
    checks = groups[title]
    assert len(checks) == 3
    assert len({_logic(check) for check in checks}) == 1
    # The same item with one rule changed would be reported.
    assert _logic(checks[0]) != (checks[0].condition.value, (checks[0].rules[0].raw + "x",))
