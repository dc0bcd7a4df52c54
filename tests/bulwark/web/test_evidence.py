"""A result's page shows its evidence as what was found (rule, verdict, file, line), escaped,
and the remediation as monospace text, never raw JSON."""

from __future__ import annotations

from django.test import Client

from bulwark.audits.models import Result
from tests.bulwark.reports.fleet import PASSWORD, Fleet


def test_evidence_is_shown_as_found_and_remediation_in_monospace(fleet: Fleet) -> None:
    result = Result.objects.filter(audit=fleet.audits["web-1"]).order_by("pk").first()
    assert result is not None
    result.evidence = [
        {"rule": "f:/etc/ssh/sshd_config -> r:^PermitRootLogin", "result": "true",
         "location": "/etc/ssh/sshd_config", "line": "PermitRootLogin <yes>"},
        {"rule": "c:sysctl net.ipv4.ip_forward", "result": "false", "reason": "no match"},
    ]  # fmt: skip
    result.save()
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    body = client.get(f"/audits/{result.audit_id}/results/{result.pk}/").content.decode()
    assert '<table id="evidence"' in body
    assert "<code>/etc/ssh/sshd_config</code>" in body
    assert '<code class="found">PermitRootLogin &lt;yes&gt;</code>' in body
    assert "no match" in body and '"rule":' not in body  # not JSON
    assert '<pre class="remediation" id="check-remediation">' in body
