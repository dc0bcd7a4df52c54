"""A small fleet stored through audits.store from outcomes made by hand, so report tests are
fast and their numbers are known (Pandora's seed figures among them).

Groups: web (web-1: 10 passed, 2 failed, 192 n/a = 83.33; web-new never audited; a host with
a hostile name), db (db-1: Account Management 14/46 = 23 %, Secure Configuration 92/16 = 85 %),
vault (vault-1, seen only by its own members). alice views web and db (operator in web); bob
views vault; root is a superuser.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from unittest import mock

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.utils import timezone

from bulwark.audits import services
from bulwark.audits.models import Audit
from bulwark.audits.store import store_outcome
from bulwark.inventory.models import Group, Host, Membership, Role
from bulwark.policies.models import Check, Policy
from workers.audit import AuditOutcome, HostInfo
from workers.engine.definitions import CheckDefinition, Condition, Dialect, PolicyDefinition
from workers.engine.evaluate import (
    CheckEvaluation,
    CheckStatus,
    PolicyEvaluation,
    PolicyStatus,
    RuleEvidence,
)
from workers.engine.scoring import summarize, summarize_by_category

ACCOUNTS = "Account Management"
SECURE = "Secure Configuration of Enterprise Assets and Software"
LOGS = "Audit Log Management"
# Category -> how many checks of the seed policy fall in it (204 in all, as in Pandora's example).
LAYOUT = {ACCOUNTS: 60, SECURE: 108, LOGS: 36}
HOSTILE = "evil<script>alert(1)</script>"
PASSWORD = "correct-horse-battery-staple"
P, F, N = "passed", "failed", "not_applicable"
HOST = HostInfo(
    "linux", "debian", "12", "fleet", "6.1.0", "x86_64", "Debian GNU/Linux 12 (bookworm)"
)


def make_policy() -> dict[str, list[Check]]:
    """The seed policy: checks by category, ids like ACC-001, titles unique."""
    policy = Policy.objects.create(
        policy_id="seed_policy",
        name="Seed policy",
        path="tests",
        origin=Policy.Origin.IMPORTED,
        dialect="w4",
        source="",
        sha256="0" * 64,
    )
    checks: dict[str, list[Check]] = {}
    for category, count in LAYOUT.items():
        prefix = category[:3].upper()
        checks[category] = Check.objects.bulk_create(
            [
                Check(
                    policy=policy,
                    check_id=f"{prefix}-{i:03d}",
                    title=f"{category} check {i:03d}",
                    description=f"What {prefix}-{i:03d} looks at.",
                    rationale=f"Why {prefix}-{i:03d} matters.",
                    remediation=f"How to fix {prefix}-{i:03d}.",
                    compliance={"cis_csc_v8": ["5.1"], "pci_dss": ["8.2.1"]},
                    category=category,
                    condition="all",
                )
                for i in range(1, count + 1)
            ]
        )
    return checks


def statuses(checks: dict[str, list[Check]], plan: dict[str, tuple[int, int]]) -> dict[Check, str]:
    """Per category (passed, failed); the rest of its checks not applicable."""
    out: dict[Check, str] = {}
    for category, members in checks.items():
        passed, failed = plan.get(category, (0, 0))
        for index, check in enumerate(members):
            out[check] = P if index < passed else F if index < passed + failed else N
    return out


def record(host: Host, results: dict[Check, str], when: dt.datetime, evidence: str = "") -> Audit:
    """One finished audit of `host` at `when`, stored by audits.store itself (the clock frozen
    at `when`), so reports read exactly what real audits leave behind."""
    evaluations = tuple(
        CheckEvaluation(
            check.policy.policy_id,
            CheckDefinition(check.check_id, check.title, Condition.ALL, ()),
            CheckStatus(status),
            "no such file" if status == N else None,
            check.category,
            (RuleEvidence("f:/etc/x", "found", line=evidence),) if evidence else (),
        )
        for check, status in results.items()
    )
    policy = PolicyDefinition(
        id="seed_policy",
        name="Seed policy",
        description="",
        path="tests",
        dialect=Dialect.W4,
        checks=tuple(e.check for e in evaluations),
    )
    outcome = AuditOutcome(
        host=HOST,
        policies=(PolicyEvaluation(policy, PolicyStatus.APPLICABLE, None, evaluations),),
        summary=summarize(evaluations),
        categories=tuple(summarize_by_category(evaluations)),
        executions=1,
        stages=1,
        seconds=0.1,
    )
    with mock.patch("django.utils.timezone.now", return_value=when):
        audit = Audit.objects.create(host=host)
        claim = services.claim(audit.pk)
        assert claim is not None and store_outcome(claim, outcome)
    audit.refresh_from_db()
    return audit


@functools.cache
def password_hash() -> str:
    """PASSWORD hashed once: PBKDF2 costs a quarter second a user on this machine."""
    return make_password(PASSWORD)


@dataclass
class Fleet:
    """What build() made, by name."""

    checks: dict[str, list[Check]]
    groups: dict[str, Group]
    hosts: dict[str, Host]
    audits: dict[str, Audit]  # each host's latest
    users: dict[str, User]


def build() -> Fleet:
    now = timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    # "Today's" audits must stay on today's date even just after midnight: hours ago, or
    # quarters of the time since midnight when that is shorter.
    step = min(dt.timedelta(hours=1), (now - midnight) / 4)
    checks = make_policy()
    groups = {name: Group.objects.create(name=name) for name in ("web", "db", "vault")}

    def host(name: str, group: str, address: str) -> Host:
        return Host.objects.create(
            name=name, address=address, group=groups[group], transport=Host.TransportKind.LOCAL
        )

    hosts = {
        "web-1": host("web-1", "web", "192.0.2.11"),
        "web-new": host("web-new", "web", "192.0.2.12"),
        HOSTILE: host(HOSTILE, "web", "192.0.2.13"),
        "db-1": host("db-1", "db", "192.0.2.21"),
        "vault-1": host("vault-1", "vault", "192.0.2.31"),
    }
    audits = {}
    # History first (older audits), then the latest audits with the seed figures.
    record(
        hosts["db-1"],
        statuses(checks, {ACCOUNTS: (4, 56), SECURE: (50, 58)}),
        now - dt.timedelta(days=14),
    )
    record(hosts["web-1"], statuses(checks, {ACCOUNTS: (6, 6)}), now - dt.timedelta(days=7))
    audits["db-1"] = record(
        hosts["db-1"],
        statuses(checks, {ACCOUNTS: (14, 46), SECURE: (92, 16)}),
        now - 2 * step,
    )
    audits["web-1"] = record(hosts["web-1"], statuses(checks, {ACCOUNTS: (10, 2)}), now - 1 * step)
    audits[HOSTILE] = record(
        hosts[HOSTILE],
        statuses(checks, {LOGS: (32, 4)}),
        now - 3 * step,
        evidence="<img src=x onerror=alert(2)>",
    )
    audits["vault-1"] = record(
        hosts["vault-1"],
        statuses(checks, {ACCOUNTS: (1, 59), LOGS: (0, 36)}),
        now - 1 * step,
    )
    users = {
        "alice": User.objects.create(username="alice", password=password_hash()),
        "bob": User.objects.create(username="bob", password=password_hash()),
        "carol": User.objects.create(username="carol", password=password_hash()),  # no groups
        "root": User.objects.create(
            username="root", password=password_hash(), is_superuser=True, is_staff=True
        ),
    }
    Membership.objects.create(user=users["alice"], group=groups["web"], role=Role.OPERATOR)
    Membership.objects.create(user=users["alice"], group=groups["db"], role=Role.VIEWER)
    Membership.objects.create(user=users["bob"], group=groups["vault"], role=Role.VIEWER)
    for name in hosts:
        hosts[name].refresh_from_db()
    return Fleet(checks, groups, hosts, audits, users)
