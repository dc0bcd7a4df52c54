"""Results kept as reverse deltas (audits/history.py, docs/history.md): every stored audit's
per-check results can be rebuilt exactly, whatever the sequence of audits, re-scorings,
failed reductions and purges; the data migration reduces and restores stored data."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from bulwark.audits import history, services, store
from bulwark.audits.models import Audit, Result
from bulwark.audits.rescoping_scope import rescope
from bulwark.audits.rescoring import rescore
from bulwark.audits.retention import purge_results
from bulwark.audits.risks import RiskException
from bulwark.audits.targets import Assignment
from bulwark.inventory.models import Group, Host
from bulwark.policies.models import Policy
from bulwark.policies.services import enabled_definitions, import_policy_texts
from tests.bulwark.audits.outcomes import audit_with, outcome_of
from tests.bulwark.conftest import using_postgres
from tests.require import require
from workers.audit import AuditOutcome
from workers.engine.categories import category_of
from workers.engine.evaluate import (
    CheckEvaluation,
    CheckStatus,
    PolicyEvaluation,
    PolicyStatus,
    RuleEvidence,
)

CHECKS = 12
STATUSES = [CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.NOT_APPLICABLE]


@pytest.fixture(autouse=True)
def _compacting_database(request: pytest.FixtureRequest) -> None:
    """Reverse deltas are PostgreSQL's (history.compacts); on SQLite audits stay in full."""
    if "sqlite" not in request.node.name:
        require(using_postgres(), "the reverse-delta scheme runs on PostgreSQL only")


def _policy(checks: int = CHECKS) -> None:
    lines = ["policy:", "  id: hist_policy", "  file: hist_policy.yml", '  name: "History"',
             '  description: "Checks for the history tests."', "checks:"]  # fmt: skip
    for n in range(1, checks + 1):
        lines += [f"  - id: {7000 + n}", f'    title: "Setting {n}"', "    compliance:",
                  f'      - cis_csc_v8: ["{n % 5 + 1}.1"]', "    condition: all", "    rules:",
                  f"      - 'f:/etc/h/{n}.conf -> r:^s{n}\\s+yes'"]  # fmt: skip
    import_policy_texts([("hist_policy.yml", "\n".join(lines) + "\n")])


Wanted = dict[str, tuple[str, str, tuple[str, ...]]]


def _random_state(rng: random.Random, previous: Wanted | None) -> Wanted:
    """Which checks ran, with status, reason and evidence: often close to the previous audit
    (most checks unchanged), sometimes a check appears or disappears."""
    ids = [c.id for p in enabled_definitions() for c in p.checks]
    state: Wanted = dict(previous or {})
    for check_id in ids:
        roll = rng.random()
        if previous is None or roll < 0.15:
            status = rng.choice(STATUSES).value
            state[check_id] = (status, rng.choice(["", "no such file"]), (rng.choice("xyz"),))
        elif roll < 0.22:
            state.pop(check_id, None)  # the check did not run this time
    return state


def _outcome(state: Wanted) -> AuditOutcome:
    (policy,) = enabled_definitions()
    checks = []
    for check in policy.checks:
        if check.id not in state:
            continue
        status, reason, evidence = state[check.id]
        found = tuple(RuleEvidence(check.rules[0].raw, status, "/etc/h", e) for e in evidence)
        checks.append(
            CheckEvaluation(
                policy.id, check, CheckStatus(status), reason or None, category_of(check), found
            )
        )
    return outcome_of([PolicyEvaluation(policy, PolicyStatus.APPLICABLE, None, tuple(checks))])


def _rows(audit: Audit | int) -> dict[str, tuple[Any, ...]]:
    """An audit's results as readers see them, by check id."""
    return {
        r.policy_check.check_id: (r.status, r.reason, r.evidence, r.exception_id)
        for r in history.results_of(audit).select_related("policy_check")
    }


def _host(name: str) -> Host:
    group, _ = Group.objects.get_or_create(name="hist")
    return Host.objects.create(name=name, address="localhost", transport="local", group=group)


def _audits(seed: int, count: int) -> list[Audit]:
    """`count` audits of one new host, each a random step from the one before, oldest first."""
    rng = random.Random(seed)
    host, state, audits = _host("h"), None, []
    for _ in range(count):
        state = _random_state(rng, state)
        audits.append(audit_with(host, _outcome(state)))
    return audits


@pytest.mark.django_db
def test_random_sequences_of_audits_are_rebuilt_exactly() -> None:
    _policy()
    rng = random.Random(1717)
    for round_ in range(6):
        host = _host(f"h{round_}")
        stored: list[tuple[Audit, dict[str, tuple[Any, ...]]]] = []
        state = None
        for _ in range(rng.randint(2, 7)):
            state = _random_state(rng, state)
            audit = audit_with(host, _outcome(state))
            stored.append((audit, _rows(audit)))  # read while it is the latest, in full
            for earlier, wanted in stored:
                assert _rows(earlier.pk) == wanted, (round_, earlier.pk)
        # Only the latest is full; the others keep only their differences.
        flags = list(
            Audit.objects.filter(host=host)
            .order_by("stored_seq")
            .values_list("results_reduced", "latest")
        )
        assert flags == [(True, False)] * (len(stored) - 1) + [(False, True)]
    stored_rows = Result.objects.count()
    full_rows = sum(a.passed + a.failed + a.not_applicable for a in Audit.objects.all())
    assert stored_rows < full_rows  # smaller than storing every audit in full


@pytest.mark.django_db
def test_a_check_absent_from_an_older_audit_stays_absent() -> None:
    _policy(3)
    host = _host("h")
    ids = [c.id for p in enabled_definitions() for c in p.checks]
    first = audit_with(host, _outcome({ids[0]: ("passed", "", ("x",))}))
    second = audit_with(host, _outcome({i: ("passed", "", ("x",)) for i in ids}))
    assert set(_rows(first)) == {ids[0]} and set(_rows(second)) == set(ids)
    # The marker rows are what keeps the first exact; no reader ever sees one.
    assert Result.objects.filter(audit=first, status=history.ABSENT).count() == 2
    assert not Result.objects.filter(audit=first, policy_check__check_id=ids[0]).exists()


@pytest.mark.django_db
def test_rescoring_the_latest_leaves_older_audits_as_they_were(django_user_model: Any) -> None:
    _policy(3)
    host = _host("h")
    ids = [c.id for p in enabled_definitions() for c in p.checks]
    state = {i: ("failed", "", ("x",)) for i in ids}
    old = audit_with(host, _outcome(state))
    audit_with(host, _outcome(state))
    before = _rows(old)
    assert not Result.objects.filter(audit=old).exclude(status=history.ABSENT).exists()
    owner = django_user_model.objects.create_user("owner")
    check = Audit.objects.get(latest=True, host=host).results.first().policy_check
    RiskException.objects.create(
        policy_check=check, policy_id="hist_policy", check_id=check.check_id,
        host=host, justification="accepted", owner="ops",
        expires_at=timezone.localdate() + timedelta(days=30), created_by=owner,
    )  # fmt: skip
    rescore([host.pk], "exception")
    latest = Audit.objects.get(latest=True, host=host)
    assert _rows(latest)[check.check_id][0] == "excepted"
    assert _rows(old) == before  # still failed, as it was stored


@pytest.mark.django_db
def test_narrowing_the_scope_of_the_latest_leaves_older_audits_as_they_were() -> None:
    """An assignment that leaves a policy out deletes its rows from the latest audit
    (rescoping_scope.py); the older audit, reduced against those rows, keeps them."""
    _policy(3)
    host = _host("h")
    ids = [c.id for p in enabled_definitions() for c in p.checks]
    state = {i: ("failed", "", ("x",)) for i in ids}
    old = audit_with(host, _outcome(state))
    audit_with(host, _outcome(state))
    before = _rows(old)
    assert before and not Result.objects.filter(audit=old).exclude(status=history.ABSENT).exists()
    import_policy_texts([("other_policy.yml", OTHER_POLICY)])
    other = Policy.objects.get(policy_id="other_policy")
    Assignment.objects.create(policy=other, group=host.group, levels=[1, 2])
    rescope([host.pk], "assignment changed")
    latest = Audit.objects.get(latest=True, host=host)
    assert not _rows(latest)  # the policy left out: its results count nowhere now
    assert _rows(old) == before  # the older audit still has what it stored


OTHER_POLICY = """policy:
  id: other_policy
  file: other_policy.yml
  name: "Other"
  description: "A second policy, assigned instead."
checks:
  - id: 7900
    title: "Other setting"
    compliance:
      - cis_csc_v8: ["4.1"]
    condition: all
    rules:
      - 'f:/etc/other.conf'
"""


@pytest.mark.django_db
def test_a_reduction_that_did_not_happen_is_redone_and_loses_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker dying between storing an audit and reducing the previous one: the previous
    audit stays in full (its chain ends there, so every audit still reads right) and the
    next store or purge reduces it."""
    _policy()
    rng = random.Random(7)
    host = _host("h")
    state = _random_state(rng, None)
    first = audit_with(host, _outcome(state))
    wanted = {first.pk: _rows(first)}
    monkeypatch.setattr(history, "reduce_pending", lambda host_id=None: 0)
    state = _random_state(rng, state)
    second = audit_with(host, _outcome(state))
    monkeypatch.undo()
    wanted[second.pk] = _rows(second)
    first.refresh_from_db()
    assert not first.results_reduced
    assert history.pending() == [first.pk]
    assert {pk: _rows(pk) for pk in wanted} == wanted
    purge_results(days=0)  # the beat task: redoes the pending reduction
    assert history.pending() == []
    assert {pk: _rows(pk) for pk in wanted} == wanted
    assert history.reduce(first.pk) is False  # idempotent: already reduced
    assert {pk: _rows(pk) for pk in wanted} == wanted


@pytest.mark.django_db
def test_a_purge_keeps_the_chains_of_what_it_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    _policy()
    rng = random.Random(3)
    host = _host("h")
    now = timezone.now()
    audits, state = [], None
    for days in (500, 450, 10, 5, 1):
        state = _random_state(rng, state)
        monkeypatch.setattr(
            store, "timezone", SimpleNamespace(now=lambda d=days: now - timedelta(days=d))
        )
        audits.append(audit_with(host, _outcome(state)))
        monkeypatch.undo()
    wanted = {a.pk: _rows(a.pk) for a in audits[2:]}
    purged = purge_results(now=now)
    assert purged.audits == 2
    assert {pk: _rows(pk) for pk in wanted} == wanted
    assert not Result.objects.filter(audit__in=audits[:2]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("which", ["oldest", "middle", "latest", "two in a row"])
def test_deleting_an_audit_leaves_every_other_audit_as_it_was(which: str) -> None:
    """An admin may delete an audit anywhere in a host's history: the older audits that read
    rows through it (reduced against it) keep every result they had."""
    _policy()
    audits = _audits(seed=21, count=5)
    wanted = {a.pk: _rows(a.pk) for a in audits}
    gone = {"oldest": [0], "middle": [2], "latest": [4], "two in a row": [2, 3]}[which]
    Audit.objects.filter(pk__in=[audits[i].pk for i in gone]).delete()
    for pk in [audits[i].pk for i in gone]:
        del wanted[pk]
    assert {pk: _rows(pk) for pk in wanted} == wanted
    assert not Result.objects.filter(audit__pk__in=[audits[i].pk for i in gone]).exists()


@pytest.mark.django_db
def test_deleting_a_host_deletes_its_history_without_rebuilding_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its audits go together: none is stored in full again on the way out."""
    _policy()
    host = _audits(seed=22, count=4)[0].host
    reduced = Result.objects.count()
    monkeypatch.setattr(history, "materialize", lambda audit_id: pytest.fail("rebuilt"))
    host.delete()
    assert not Audit.objects.exists() and not Result.objects.exists()
    assert reduced  # something was there to delete


def _migrate(target: str) -> Any:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("audits", target)])
    return executor


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_reduces_stored_audits_and_its_reverse_restores_them() -> None:
    """Audits stored in full (before the scheme) are reduced by 0013 and read the same; the
    reverse stores them in full again."""
    _policy()
    audits = _audits(seed=5, count=4)
    wanted = {a.pk: _rows(a.pk) for a in audits}
    for audit in audits:  # back to every audit in full, as data from before the scheme
        history.materialize(audit.pk)
    full = Result.objects.count()
    try:
        _migrate("0013_results_reverse_delta")
        Audit.objects.update(stored_seq=None)
        _migrate("0014_reduce_stored_results")
        assert list(Audit.objects.order_by("pk").values_list("stored_seq", "results_reduced")) == [
            (1, True),
            (2, True),
            (3, True),
            (4, False),
        ]
        assert {pk: _rows(pk) for pk in wanted} == wanted
        assert Result.objects.count() < full
        _migrate("0013_results_reverse_delta")
        assert Result.objects.filter(status=history.ABSENT).count() == 0
        assert Result.objects.count() == full
        assert not Audit.objects.filter(results_reduced=True).exists()
        assert {pk: _rows(pk) for pk in wanted} == wanted
    finally:
        _migrate("0014_reduce_stored_results")


@pytest.mark.django_db
def test_pages_and_api_show_an_old_audit_whole_and_as_itself(django_user_model: Any) -> None:
    from django.test import Client

    _policy()
    audits = _audits(seed=9, count=3)
    host = audits[0].host
    old = audits[0]
    wanted = _rows(old.pk)
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    body = client.get(f"/api/results/?audit={old.pk}&limit=100").json()
    rows = body["results"]
    assert {r["check"]["check_id"]: r["status"] for r in rows} == {
        k: v[0] for k, v in wanted.items()
    }
    assert {r["audit"] for r in rows} == {old.pk}  # shown as the old audit's, whoever holds it
    # Across audits, the rows as stored: each is true of the audit it names (an older audit
    # shows only its changes there).
    across = client.get(f"/api/results/?host={host.pk}&limit=100").json()["results"]
    for row in across:
        assert _rows(row["audit"])[row["check"]["check_id"]][0] == row["status"]
    assert {r["audit"] for r in across} >= {audits[-1].pk}
    assert history.ABSENT not in {r["status"] for r in across}
    page = client.get(f"/audits/{old.pk}/").content.decode()
    held = [r for r in history.results_of(old.pk) if r.audit_id != old.pk]
    assert held, "some of the old audit's results are rows of newer audits"
    assert f"/audits/{old.pk}/results/{held[0].pk}/" in page
    detail = client.get(f"/audits/{old.pk}/results/{held[0].pk}/")
    assert detail.status_code == 200 and f"/audits/{old.pk}/" in detail.content.decode()


@pytest.mark.django_db
def test_on_sqlite_every_audit_stays_whole_and_reads_back_exactly() -> None:
    """The embedded default (SQLite) keeps audits in full: nothing reduced, results_of is the
    audit's own rows."""
    if using_postgres():
        assert history.compacts()
        return
    _policy(3)
    host = _host("h")
    ids = [c.id for p in enabled_definitions() for c in p.checks]
    old = audit_with(host, _outcome({i: ("failed", "", ("x",)) for i in ids}))
    audit_with(host, _outcome({i: ("passed", "", ("y",)) for i in ids}))
    assert not history.compacts() and not history.reduce_pending()
    assert not Audit.objects.filter(results_reduced=True).exists()
    assert {r.pk for r in history.results_of(old)} == {r.pk for r in old.results.all()}
    assert {v[0] for v in _rows(old).values()} == {"failed"}


def _full_rows(queryset: Any) -> dict[int, tuple[Any, ...]]:
    return {
        r.pk: (r.audit_id, r.policy_check_id, r.status, r.reason, r.evidence, r.exception_id)
        for r in queryset
    }


@pytest.mark.django_db
def test_full_audits_are_read_plainly_and_the_same_as_rebuilt_from_their_chain() -> None:
    """The hot path: an audit kept in full (a host's latest) is its own rows by the audit
    index, not the chain query; the chain rebuilds every audit, full or reduced, to the same
    rows."""
    _policy()
    rng = random.Random(4242)
    host, state, audits = _host("h"), None, []
    for _ in range(5):
        state = _random_state(rng, state)
        audits.append(audit_with(host, _outcome(state)))
    for audit in Audit.objects.filter(host=host).order_by("stored_seq"):
        read, chain = history.results_of(audit), history.rebuilt(audit.pk)
        assert _full_rows(read) == _full_rows(chain), audit.pk
        assert _full_rows(history.results_of(audit.pk)) == _full_rows(read)
        sql = str(read.query)
        if audit.results_reduced:
            assert "DISTINCT ON" in sql
        else:
            assert audit.latest and "DISTINCT ON" not in sql and "stored_seq" not in sql
            assert _full_rows(read) == _full_rows(Result.objects.filter(audit=audit))
    assert len(_full_rows(history.results_of(audits[-1]))) == len(state or {})


@pytest.mark.django_db
def test_a_full_audit_reduced_meanwhile_never_reads_as_its_changes_only() -> None:
    """An audit loaded while full is reduced by a newer audit of its host: results_of reads
    its flag afresh and rebuilds it; the plain read alone refuses it in its own statement
    (what a reduction between the flag's read and the rows' would meet)."""
    _policy(3)
    host = _host("h")
    ids = [c.id for p in enabled_definitions() for c in p.checks]
    first = audit_with(host, _outcome({i: ("passed", "", ("x",)) for i in ids}))
    wanted = _rows(first)
    stale = Audit.objects.get(pk=first.pk)
    audit_with(
        host, _outcome({**{i: ("passed", "", ("x",)) for i in ids}, ids[0]: ("failed", "", ("y",))})
    )
    assert not stale.results_reduced and Audit.objects.get(pk=first.pk).results_reduced
    assert list(history.kept_in_full(first.pk)) == []
    assert _rows(stale) == _rows(first.pk) == wanted and len(wanted) == 3


@pytest.mark.django_db
def test_the_results_list_is_every_result_of_audits_kept_in_full(django_user_model: Any) -> None:
    """/api/results/ without ?audit= lists each host's latest audit whole (no reduced audit's
    partial rows); ?audit= gives an older audit whole."""
    from django.test import Client

    _policy()
    audits = _audits(seed=77, count=4)
    host = audits[0].host
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    listed = client.get(f"/api/results/?host={host.pk}&limit=100").json()["results"]
    assert {r["audit"] for r in listed} == {audits[-1].pk}
    assert {r["check"]["check_id"]: r["status"] for r in listed} == {
        k: v[0] for k, v in _rows(audits[-1].pk).items()
    }
    for old in audits[:-1]:
        body = client.get(f"/api/results/?audit={old.pk}&limit=5").json()
        rows, url = body["results"], body["next"]
        while url:  # every page of the rebuilt audit, in id order
            body = client.get(url).json()
            rows, url = rows + body["results"], body["next"]
        assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
        assert {r["check"]["check_id"]: r["status"] for r in rows} == {
            k: v[0] for k, v in _rows(old.pk).items()
        }


@pytest.mark.django_db
def test_result_lists_answer_as_the_result_serializer_in_a_few_queries(
    django_user_model: Any, django_assert_max_num_queries: Any
) -> None:
    """The list builds its rows from values() (serializers.result_rows), not through
    ResultSerializer: the JSON must stay exactly the serializer's (old audits rebuilt and
    shown as themselves, latest ones, rows with an exception), in a number of queries that
    does not grow with the rows of a page."""
    from django.test import Client
    from rest_framework.renderers import JSONRenderer

    from bulwark.audits.api.serializers import ResultSerializer

    _policy()
    (policy,) = enabled_definitions()
    group, _ = Group.objects.get_or_create(name="hist")
    for check in Policy.objects.get(policy_id=policy.id).checks.order_by("pk")[:6]:
        RiskException.objects.create(
            policy_id=policy.id, check_id=check.check_id, policy_check=check, group=group,
            justification="accepted", owner="ops", reference="T-1",
            expires_at=timezone.localdate() + timedelta(days=30),
        )  # fmt: skip
    audits = _audits(seed=31, count=3)
    host = audits[0].host
    assert Result.objects.filter(exception__isnull=False).exists()
    client = Client()
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))

    def serialized(rows: Any, audit: Audit | None = None) -> Any:
        rows = rows.select_related("audit", "policy_check__policy", "exception").order_by("id")
        answer = []
        for row in rows:
            if audit is not None:  # as filtersets.filter_audit annotates them
                row.as_of, row.as_of_finished = audit.pk, audit.finished_at
            answer.append(ResultSerializer(row).data)
        return json.loads(JSONRenderer().render(answer))

    listed = client.get(f"/api/results/?host={host.pk}&limit=100").json()["results"]
    assert listed == serialized(Result.objects.filter(audit=audits[-1]))
    for audit in audits:
        with django_assert_max_num_queries(8):  # session, user, audit, count, page
            body = client.get(f"/api/results/?audit={audit.pk}&limit=100").json()
        assert body["results"] == serialized(history.results_of(audit.pk), audit)
        counts = audit.passed + audit.failed + audit.not_applicable + audit.excepted
        assert len(body["results"]) == counts > 8


@pytest.mark.django_db
def test_a_store_takes_a_bounded_number_of_queries(
    django_assert_max_num_queries: Any,
) -> None:
    """A store is mostly round trips to the database (docs/history.md): the number of
    statements of one, with the previous audit reduced, a regression alerted and exceptions
    applied, stays bounded whatever the number of checks."""
    _policy(40)
    (policy,) = enabled_definitions()
    ids = [c.id for c in policy.checks]
    host = _host("h")
    audit_with(host, _outcome({i: ("passed", "", ("x",)) for i in ids}))
    worse = {
        **{i: ("passed", "", ("x",)) for i in ids},
        **{i: ("failed", "", ("y",)) for i in ids[:5]},
    }
    audit = Audit.objects.create(host=host)
    claim = services.claim(audit.pk)
    assert claim is not None
    with django_assert_max_num_queries(24):  # 41 before (docs/history.md); 40 checks
        assert store.store_outcome(claim, _outcome(worse))
    assert Audit.objects.filter(host=host, results_reduced=True).count() == 1
    assert host.alerts.filter(kind="regression").exists()
    check = Policy.objects.get(policy_id=policy.id).checks.get(check_id=ids[0])
    RiskException.objects.create(
        policy_id=policy.id, check_id=ids[0], policy_check=check, host=host,
        justification="accepted", owner="ops", expires_at=timezone.localdate() + timedelta(days=9),
    )  # fmt: skip
    audit = Audit.objects.create(host=host)
    claim = services.claim(audit.pk)
    assert claim is not None
    with django_assert_max_num_queries(38):  # with an exception: the re-scoring's too
        assert store.store_outcome(claim, _outcome(worse))
    audit.refresh_from_db()
    assert (audit.failed, audit.excepted) == (4, 1)
    assert _rows(audit)[ids[0]][0] == "excepted"


def _index_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_indexes_size('audits_result')")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_compacting_shrinks_the_sparse_index_pages_reductions_leave() -> None:
    """Reduced audits keep a few rows on index pages that held all of theirs; compact()
    rebuilds the indexes (REINDEX CONCURRENTLY, outside a transaction) and reads are unchanged."""
    _policy(300)
    audits = _audits(seed=5, count=6)
    wanted = {a.pk: _rows(a.pk) for a in audits}
    before = _index_bytes()
    assert history.compact() is True
    assert _index_bytes() < before
    assert {a.pk: _rows(a.pk) for a in audits} == wanted


def _invalid_indexes() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = 'audits_result'::regclass AND NOT x.indisvalid"
        )
        return [name for (name,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_compacting_drops_the_invalid_indexes_an_interrupted_rebuild_left() -> None:
    """A concurrent index build that did not finish (here: refused, as a killed REINDEX
    CONCURRENTLY is) leaves an invalid index every insert still updates; compact() drops it
    before it rebuilds, and reads are unchanged."""
    from django.db import IntegrityError, connection

    _policy(3)
    audit = audit_with(_host("h"), _outcome({"7001": ("passed", "", ("x",)),
                                             "7002": ("failed", "", ("y",))}))  # fmt: skip
    wanted = _rows(audit.pk)
    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        # Not unique: an audit has several rows. PostgreSQL leaves the index, invalid.
        cursor.execute("CREATE UNIQUE INDEX CONCURRENTLY probe_ccnew ON audits_result (audit_id)")
    assert _invalid_indexes() == ["probe_ccnew"]
    assert history.compact() is True
    assert _invalid_indexes() == []
    assert _rows(audit.pk) == wanted
