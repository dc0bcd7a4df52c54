"""History that scales: per-check results older than RESULTS_RETENTION_DAYS are deleted, in
batches, while every audit keeps its counts, score, category summary and score sample, and
each host's latest audit keeps its results whatever their age (reports of the current state
read them). docs/history.md says why this scheme and what it measured."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from bulwark.audits import history
from bulwark.audits.models import ACTIVE, Audit, Result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Purged:
    """What one purge removed."""

    audits: int
    results: int
    cutoff: datetime | None


def purgeable(cutoff: datetime) -> QuerySet[Audit]:
    """Audits whose results may go: finished before the cutoff, not their host's latest, not
    purged yet. An audit stops being latest only when a newer one is stored (in the same
    transaction the report counters move to it), so the counters never need purged rows.
    An older audit of the same host that stays (finished after the cutoff, a clock gone back)
    may read this one's rows as its own (audits/history.py): then this one stays too."""
    kept_older = Audit.objects.filter(
        host_id=OuterRef("host_id"),
        stored_seq__lt=OuterRef("stored_seq"),
        results_purged_at__isnull=True,
        finished_at__gte=cutoff,
    )
    return (
        Audit.objects.filter(finished_at__lt=cutoff, latest=False, results_purged_at__isnull=True)
        .exclude(status__in=ACTIVE)
        .exclude(Exists(kept_older))
        .order_by("pk")
    )


def purge_results(
    days: int | None = None, *, batch: int = 200, now: datetime | None = None
) -> Purged:
    """Delete the results of audits older than `days` (RESULTS_RETENTION_DAYS); 0 keeps all.
    Each batch of audits is one transaction: an interrupted purge loses nothing it should
    keep, and the next run carries on."""
    # First redo any reduction a failure left pending (one transaction per audit).
    for audit_id in history.pending():
        with transaction.atomic():
            history.reduce(audit_id)
    days = int(settings.RESULTS_RETENTION_DAYS if days is None else days)
    if days <= 0:
        return Purged(0, 0, None)
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    audits = results = 0
    while True:
        with transaction.atomic():
            ids = list(purgeable(cutoff).values_list("pk", flat=True)[:batch])
            if not ids:
                break
            deleted, _ = Result.objects.filter(audit_id__in=ids).delete()
            Audit.objects.filter(pk__in=ids).update(results_purged_at=now)
        audits, results = audits + len(ids), results + deleted
    if audits:
        log.info("purged %d results of %d audits finished before %s", results, audits, cutoff)
    return Purged(audits, results, cutoff)
