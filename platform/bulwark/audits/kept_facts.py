"""The facts of each host's latest audits, kept for previews of new or changed policies.

Compressed (zlib), encrypted at rest with the credential keys (bulwark.core.crypto), capped per
host (FACTS_MAX_BYTES, compressed: a larger collection is not kept, and said so in the log), the
latest FACTS_RETENTION audits per host only. Account-file hashes never reach here
(workers.engine.facts_codec). Only superusers' previews read them; no API returns them.
"""

from __future__ import annotations

import base64
import json
import logging
import zlib

from django.conf import settings
from django.db import models

from bulwark.core.crypto import SecretUnreadable, decrypt, encrypt
from bulwark.inventory.models import Host
from workers.engine import facts_codec
from workers.engine.facts import Facts

log = logging.getLogger(__name__)


class KeptFacts(models.Model):
    """One audit's collection, encrypted. `size` is the compressed size before encryption."""

    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="+")
    audit = models.OneToOneField("audits.Audit", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    size = models.PositiveIntegerField()
    token = models.TextField(editable=False)
    # Encrypted with bulwark.core.crypto: manage.py rotate_credentials re-encrypts these too.
    encrypted_token_fields = ("token",)

    class Meta:
        ordering = ["host", "-created_at"]
        indexes = [models.Index(fields=["host", "-created_at"])]
        verbose_name_plural = "kept facts"

    def __str__(self) -> str:
        return f"facts of audit {self.audit_id} ({self.size} bytes)"


def keep(audit_id: int, host_id: int, facts: Facts | None, *, replace: bool = True) -> bool:
    """Keep this audit's facts (replacing a previous attempt's, unless the caller has deleted
    it: `replace=False`) and drop those beyond FACTS_RETENTION for the host. False when there
    was nothing to keep or it was too big."""
    if replace:
        KeptFacts.objects.filter(audit_id=audit_id).delete()
    if facts is None or int(settings.FACTS_RETENTION) == 0:
        return False
    packed = zlib.compress(json.dumps(facts_codec.dump(facts)).encode(), 6)
    if len(packed) > int(settings.FACTS_MAX_BYTES):
        log.warning(
            "audit %s: facts not kept for previews (%d bytes compressed > FACTS_MAX_BYTES=%d)",
            audit_id,
            len(packed),
            settings.FACTS_MAX_BYTES,
        )
        return False
    KeptFacts.objects.create(
        host_id=host_id,
        audit_id=audit_id,
        size=len(packed),
        token=encrypt(base64.b64encode(packed).decode()),
    )
    old = KeptFacts.objects.filter(host_id=host_id).order_by("-created_at", "-pk")
    stale = old.values_list("pk", flat=True)[int(settings.FACTS_RETENTION) :]
    KeptFacts.objects.filter(pk__in=stale).delete()  # one statement: a subquery
    return True


def latest_for(host_ids: list[int]) -> dict[int, Facts]:
    """Each host's most recent kept facts, decrypted."""
    found: dict[int, Facts] = {}
    for row in KeptFacts.objects.filter(host_id__in=host_ids).order_by("host_id", "-created_at"):
        if row.host_id in found:
            continue
        try:
            packed = base64.b64decode(decrypt(row.token))
        except SecretUnreadable:
            # Kept under a key since removed from CREDENTIAL_KEYS: as if nothing was kept.
            log.warning("kept facts of audit %s no longer decrypt; ignored", row.audit_id)
            continue
        found[row.host_id] = facts_codec.load(json.loads(zlib.decompress(packed)))
    return found
