"""Per-check results kept as reverse deltas (docs/history.md).

Each host's audits with results form a chain in the order they were stored (`stored_seq`).
The newest (the host's latest) is kept in full. When a newer audit is stored, the previous
one is *reduced*: it keeps only the rows that differ from its successor, plus an `absent`
marker row for each check the successor has and it had not. A check's result in a reduced
audit is then the row of the earliest audit at or after it in the chain that has a row for
the check; an `absent` row means "no result". An audit not reduced (the latest, or one whose
reduction is still pending) ends a chain: it holds all of its rows itself.

Every reader of an audit's per-check results goes through `results_of`, which reads an audit
kept in full (the latest) with a plain query by the audit index and rebuilds only reduced
ones; readers of latest audits only (dashboard, re-scoring, exceptions, preview,
remediation) read them plainly and need nothing from this module.

The SQL below names the tables directly (it is used by a data migration too). It is
PostgreSQL's: on SQLite (the embedded default, a small installation) audits are simply kept in
full, so `reduce` does nothing there and `results_of` is the plain query.
"""

from __future__ import annotations

import logging

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from bulwark.audits.models import Audit, Result

log = logging.getLogger(__name__)

# The status of a marker row: the check has no result in this audit (but has one later).
ABSENT = "absent"
AUDIT = "audits_audit"
RESULT = "audits_result"
EXCEPTION = "audits_riskexception"

# The audits whose rows make up audit %(x)s's results: itself, then its successors up to and
# including the first one that is not reduced. Only audits with stored results count. The
# audit's own row is read once (a CTE) and the chain's end is an uncorrelated subquery, so
# PostgreSQL computes both once per statement and reads the chain as one range of the
# (host, stored_seq) index; correlated to each row, they were re-run for each result row.
_CHAIN = f"""
WITH x AS MATERIALIZED (SELECT host_id, stored_seq FROM {AUDIT} WHERE id = %s)
SELECT c.id, c.stored_seq FROM x JOIN {AUDIT} c ON c.host_id = x.host_id
 WHERE c.stored_seq >= x.stored_seq AND c.results_purged_at IS NULL
   AND c.stored_seq <= (
     SELECT e.stored_seq FROM x, {AUDIT} e
      WHERE e.host_id = x.host_id AND e.stored_seq >= x.stored_seq
        AND e.results_purged_at IS NULL AND NOT e.results_reduced
      ORDER BY e.stored_seq LIMIT 1)
"""  # noqa: S608

# One row per check: the earliest in the chain (markers included, filtered by the callers).
_RECONSTRUCT = f"""
SELECT DISTINCT ON (r.policy_check_id) r.id, r.policy_check_id, r.status, r.reason,
       r.evidence, r.exception_id
  FROM {RESULT} r JOIN ({_CHAIN}) chain ON chain.id = r.audit_id
 ORDER BY r.policy_check_id, chain.stored_seq
"""  # noqa: S608


def compacts() -> bool:
    """Whether this database keeps older audits as reverse deltas (PostgreSQL only)."""
    return connection.vendor == "postgresql"


def results_of(audit: Audit | int) -> QuerySet[Result]:
    """The per-check results of any audit, exactly as they were stored.

    An audit kept in full (each host's latest, which nearly every reader wants) is a plain
    read of its own rows by the audit index (`kept_in_full`); a reduced one is rebuilt from
    its chain (`rebuilt`). Which one is decided by the audit's `results_reduced` read here,
    afresh even when given an instance (one loaded before a newer audit of its host was
    stored is reduced by now)."""
    audit_id = audit if isinstance(audit, int) else audit.pk
    if not compacts():
        return Result.objects.filter(audit_id=audit_id)
    reduced = Audit.objects.filter(pk=audit_id).values_list("results_reduced", flat=True).first()
    return rebuilt(audit_id) if reduced else kept_in_full(audit_id)


def kept_in_full(audit_id: int) -> QuerySet[Result]:
    """The rows of an audit kept in full. The same statement requires it still is: an audit
    reduced between reading its flag and its rows (a newer audit of its host stored in those
    milliseconds) reads as no rows, never as its changes only; read again, it is rebuilt."""
    return Result.objects.filter(audit_id=audit_id, audit__results_reduced=False)


def rebuilt(audit_id: int) -> QuerySet[Result]:
    """An audit's results rebuilt from its chain: right for any audit (for one kept in full the
    chain is the audit alone), which may hold rows of newer audits of the same host
    (`row.audit_id` is the audit that holds the row, not necessarily `audit_id`). One
    statement, so an audit being reduced meanwhile reads the same before and after. The
    outer query is bounded to the chain's audits too (`audit_id IN`), so a page of it in id
    order is read from the results' audit index, not by walking the whole table in id order."""
    if not compacts():
        return Result.objects.filter(audit_id=audit_id)
    ids = RawSQL(f"SELECT id FROM ({_RECONSTRUCT}) x WHERE status <> %s", [audit_id, ABSENT])  # noqa: S611, S608
    chain = RawSQL(f"SELECT id FROM ({_CHAIN}) c", [audit_id])  # noqa: S611, S608
    return Result.objects.filter(audit_id__in=chain, pk__in=ids)


def reduce(audit_id: int) -> bool:
    """Reduce a full audit to the rows that differ from its successor's results. Idempotent:
    an audit already reduced, purged, or without a successor is left as it is (False). Run in
    the caller's transaction; the host's row lock (taken by the store) serializes it with the
    host's other stores. Two statements (it runs in every store): the audit locked and its
    successor found, then the reduction."""
    if not compacts():
        return False
    with connection.cursor() as cursor:
        # The audit's row locked (FOR UPDATE OF p) and, if it is to be reduced, its successor.
        cursor.execute(
            f"SELECT p.results_reduced OR p.results_purged_at IS NOT NULL"  # noqa: S608
            f" OR p.stored_seq IS NULL, (SELECT s.id FROM {AUDIT} s WHERE s.host_id = p.host_id"
            "  AND s.stored_seq > p.stored_seq AND s.results_purged_at IS NULL"
            "  ORDER BY s.stored_seq LIMIT 1)"
            f" FROM {AUDIT} p WHERE p.id = %s FOR UPDATE OF p",
            [audit_id],
        )
        row = cursor.fetchone()
        if row is None or row[0] or row[1] is None:
            return False
        successor = row[1]
        target = f"SELECT * FROM ({_RECONSTRUCT}) t WHERE t.status <> %s"  # noqa: S608
        # The markers (checks the successor has and this audit has not), the rows equal to
        # the successor's dropped, the audit marked reduced: one statement, so all three read
        # the rows as they were before it (the markers are not among the rows dropped, which
        # are the successor's results; a marker for a dropped row would need the reverse).
        cursor.execute(
            f"WITH markers AS (INSERT INTO {RESULT}"  # noqa: S608
            " (audit_id, policy_check_id, status, reason, evidence)"
            f" SELECT %s, t.policy_check_id, %s, '', '[]'::jsonb FROM ({target}) t"
            f" WHERE NOT EXISTS (SELECT 1 FROM {RESULT} r"
            "  WHERE r.audit_id = %s AND r.policy_check_id = t.policy_check_id)),"
            f" same AS (DELETE FROM {RESULT} r USING ({target}) t"
            " WHERE r.audit_id = %s AND r.policy_check_id = t.policy_check_id"
            " AND r.status = t.status AND r.reason = t.reason AND r.evidence = t.evidence"
            " AND r.exception_id IS NOT DISTINCT FROM t.exception_id)"
            f" UPDATE {AUDIT} SET results_reduced = true WHERE id = %s",
            [audit_id, ABSENT, successor, ABSENT, audit_id, successor, ABSENT, audit_id, audit_id],
        )
    return True


def materialize(audit_id: int) -> bool:
    """The inverse of `reduce`: store the audit's results in full again (False if it was not
    reduced). Used to undo the migration and by tests."""
    if not compacts():
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT results_reduced FROM {AUDIT} WHERE id = %s FOR UPDATE",  # noqa: S608
            [audit_id],
        )
        row = cursor.fetchone()
        if row is None or not row[0]:
            return False
        cursor.execute(
            f"INSERT INTO {RESULT} (audit_id, policy_check_id, status, reason, evidence,"  # noqa: S608
            f" exception_id) SELECT %s, t.policy_check_id, t.status, t.reason, t.evidence,"
            f" t.exception_id FROM ({_RECONSTRUCT}) t"
            f" WHERE t.status <> %s AND NOT EXISTS (SELECT 1 FROM {RESULT} r"
            "  WHERE r.audit_id = %s AND r.policy_check_id = t.policy_check_id)",
            [audit_id, audit_id, ABSENT, audit_id],
        )
        cursor.execute(
            f"DELETE FROM {RESULT} WHERE audit_id = %s AND status = %s",  # noqa: S608
            [audit_id, ABSENT],
        )
        cursor.execute(
            f"UPDATE {AUDIT} SET results_reduced = false WHERE id = %s",  # noqa: S608
            [audit_id],
        )
    return True


def before_delete(audit_id: int) -> None:
    """An audit is about to be deleted: the reduced audit stored just before it reads rows
    through it, so it is stored in full first (`materialize`, which still sees the deleted
    audit's rows); it and every older audit keep every result they had. Audits deleted
    together each do this in turn, newest or oldest first alike, before any row goes."""
    if not compacts():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM {AUDIT} d JOIN {AUDIT} p ON p.host_id = d.host_id"  # noqa: S608
            " WHERE d.id = %s AND d.results_purged_at IS NULL AND p.results_reduced"
            " AND p.results_purged_at IS NULL AND p.stored_seq = ("
            f"  SELECT max(q.stored_seq) FROM {AUDIT} q WHERE q.host_id = d.host_id"
            "   AND q.stored_seq < d.stored_seq AND q.results_purged_at IS NULL)",
            [audit_id],
        )
        row = cursor.fetchone()
    if row is not None:
        materialize(row[0])


def next_seq(host_id: int) -> RawSQL:
    """The stored_seq of the host's next stored audit, as an expression for the UPDATE that
    sets it (in a statement after the one taking the host's row lock: that statement's
    snapshot then holds every audit of the host stored before)."""
    return RawSQL(  # noqa: S611
        f"SELECT coalesce(max(stored_seq), 0) + 1 FROM {AUDIT} WHERE host_id = %s",  # noqa: S608
        [host_id],
    )


def pending(host_id: int | None = None) -> list[int]:
    """Audits left in full although a newer audit of their host is stored (the previous audit
    of a store that has just inserted its rows, a reduction that failed, or data from before
    this scheme): oldest first."""
    host = "" if host_id is None else "AND p.host_id = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM {AUDIT} p WHERE NOT p.results_reduced {host}"  # noqa: S608
            " AND p.stored_seq IS NOT NULL AND p.results_purged_at IS NULL"
            f" AND EXISTS (SELECT 1 FROM {AUDIT} s WHERE s.host_id = p.host_id"
            "  AND s.stored_seq > p.stored_seq AND s.results_purged_at IS NULL)"
            " ORDER BY p.host_id, p.stored_seq",
            [] if host_id is None else [host_id],
        )
        return [row[0] for row in cursor.fetchall()]


def reduce_pending(host_id: int | None = None) -> int:
    """Reduce every audit (of one host, or all) that should be; returns how many were."""
    done = sum(reduce(audit_id) for audit_id in pending(host_id))
    if done:
        log.info("reduced the results of %d audit(s) to their changes", done)
    return done


def preserve_before_update(targets: str, params: list[object]) -> None:
    """Re-scoring rewrites rows of latest audits in place (failed <-> excepted). A reduced
    predecessor may read those rows as its own: before they change, copy into it the rows it
    lacks among those a re-scoring can touch (excepted, or failed with an active exception
    on the check), so the predecessor's results stay what they were. `targets` is a WHERE
    clause on result rows' `audit_id`."""
    _copy_to_predecessors(
        targets,
        params,
        " AND (r.status = 'excepted' OR (r.status = 'failed' AND r.policy_check_id IN"  # noqa: S608
        f"  (SELECT policy_check_id FROM {EXCEPTION} WHERE status = 'active')))",
    )


def preserve_before_delete(targets: str, params: list[object]) -> None:
    """Narrowing an assignment deletes rows of latest audits (rescoping_scope.py). A reduced
    predecessor that reads one of them as its own gets its copy first, so older audits keep
    every result they had. `targets` is a WHERE clause on the rows about to be deleted."""
    _copy_to_predecessors(targets, params, "")


def _copy_to_predecessors(targets: str, params: list[object], only: str) -> None:
    """Copy the rows matched by `targets` (and `only`) into the reduced predecessor of the
    audit holding each, where the predecessor has no row of its own for that check."""
    if not compacts():
        return  # nothing is reduced there
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {RESULT} (audit_id, policy_check_id, status, reason, evidence,"  # noqa: S608
            f" exception_id) SELECT p.id, r.policy_check_id, r.status, r.reason, r.evidence,"
            f" r.exception_id FROM {RESULT} r JOIN {AUDIT} l ON l.id = r.audit_id"
            f" JOIN {AUDIT} p ON p.host_id = l.host_id AND p.results_reduced"
            " AND p.results_purged_at IS NULL AND p.stored_seq = ("
            f"  SELECT max(q.stored_seq) FROM {AUDIT} q WHERE q.host_id = l.host_id"
            "   AND q.stored_seq < l.stored_seq AND q.results_purged_at IS NULL)"
            f" WHERE r.id IN (SELECT id FROM {RESULT} WHERE {targets})"
            f"{only}"
            f" AND NOT EXISTS (SELECT 1 FROM {RESULT} x WHERE x.audit_id = p.id"
            "  AND x.policy_check_id = r.policy_check_id)",
            params,
        )


def compact() -> bool:
    """Rebuild the results' indexes (PostgreSQL: REINDEX CONCURRENTLY, reads and stores go on).
    A reduction deletes most of an audit's rows, but its few remaining rows keep the B-tree
    pages that held all of them (VACUUM frees only empty pages): about 32 KiB per reduced
    audit against 339 B per row once rebuilt (docs/history.md). Run weekly by beat; needs
    autocommit (REINDEX CONCURRENTLY cannot run in a transaction). False where nothing is
    reduced (SQLite)."""
    if not compacts():
        return False
    with connection.cursor() as cursor:
        # A run killed part-way (worker lost, database restarted) leaves its new copies
        # behind as invalid indexes (`..._ccnew`), which PostgreSQL keeps updating on every
        # insert and a later REINDEX does not remove: dropped first.
        cursor.execute(
            "SELECT quote_ident(i.relname) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass AND NOT x.indisvalid",
            [RESULT],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            log.warning("dropped %s, left invalid by an interrupted rebuild", name)
        cursor.execute(f"REINDEX TABLE CONCURRENTLY {RESULT}")
    log.info("rebuilt the indexes of the results table")
    return True
