"""manage.py preview_policy: counts per host from the kept facts; refused files name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from bulwark.audits import services
from bulwark.audits.models import Audit, AuditStatus, Result
from bulwark.inventory.models import Host

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db


@pytest.mark.slow  # a whole-machine audit (every local filesystem scanned): not for make test-fast
def test_it_prints_counts_per_host_and_refuses_bad_files(
    catalogue: None, local_host: Host, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("preview_policy", str(ROOT / "rulesets/linux/bulwark_openssh.yml"))
    assert "this-machine" in capsys.readouterr().out.split("no facts kept")[0]
    audit = Audit.objects.create(host=local_host)
    services.run_audit(audit.pk)
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DONE
    call_command("preview_policy", str(ROOT / "rulesets/linux/bulwark_debian12.yml"))
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("this-machine"))
    passed, failed, na, needs = (int(v) for v in line.split()[1:])
    stored = Result.objects.filter(audit=audit, policy_check__policy__policy_id="bulwark_debian12")
    # The same policy on the facts its own audit collected: the same verdicts, all decidable.
    assert (passed, failed, na, needs) == (
        stored.filter(status="passed").count(),
        stored.filter(status="failed").count(),
        stored.filter(status="not_applicable").count(),
        0,
    )
    bad = tmp_path / "bad.yml"
    bad.write_text("policy:\n  id: x\n")
    with pytest.raises(CommandError) as refused:
        call_command("preview_policy", str(bad))
    assert "bad.yml" in str(refused.value)
