"""GET /api/hosts/{id}/remediation.{sh,yml,ps1}: the latest audit's failed checks with a fix,
in every format, scoped to the user's groups, never a step for an excepted result."""

from __future__ import annotations

from collections.abc import Callable

import yaml
from rest_framework.test import APIClient

from bulwark.audits.models import Result
from bulwark.policies.services import import_policy_texts
from tests.bulwark.audits.outcomes import audit_with, make_outcome
from tests.bulwark.world import World

FIXABLE = """\
policy: {id: fixable, file: fixable.yml, name: Fixable, description: d}
checks:
  - id: 8101
    title: "sshd MaxAuthTries at most 4"
    compliance: [{cis: ["5.1.7"]}, {cis_csc_v8: ["4.1"]}]
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      sshd: {MaxAuthTries: 4}
  - id: 8102
    title: "A check with a shell fix"
    compliance: [{cis_csc_v8: ["4.1"]}]
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      test: 'test -e /etc/f-2'
      sh: 'touch /etc/f-2'
  - id: 8103
    title: "Root logins refused"
    compliance: [{cis_csc_v8: ["4.1"]}]
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      manual: 'Needs a decision first.'
"""


def test_the_latest_audits_failed_checks_become_a_script(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    report = import_policy_texts([("fixable.yml", FIXABLE)])
    assert not getattr(report, "errors", None)
    host = world.a.host
    audit = audit_with(host, make_outcome(failed=["8101", "8102", "8103", "9002"]))
    # An excepted result (another feature's status) gets no step.
    Result.objects.filter(audit=audit, policy_check__check_id="8102").update(status="excepted")
    client = client_for("a_viewer")
    sh = client.get(f"/api/hosts/{host.pk}/remediation.sh")
    assert sh.status_code == 200, sh.content[:300]
    assert sh["Content-Disposition"] == f'attachment; filename="host-{host.pk}-remediation.sh"'
    text = sh.content.decode()
    assert text.startswith("#!/bin/sh") and "--check" in text
    assert "bulwark_sshd_set MaxAuthTries 4" in text and "8101 (CIS 5.1.7)" in text
    assert "touch /etc/f-2" not in text
    assert "# fixable 8103: Root logins refused" in text and "Needs a decision first." in text
    play = yaml.safe_load(client.get(f"/api/hosts/{host.pk}/remediation.yml").content)
    names = [task["name"] for task in play[0]["tasks"]]
    assert any(name.endswith("MaxAuthTries 4") for name in names)
    ps1 = client.get(f"/api/hosts/{host.pk}/remediation.ps1").content.decode()
    assert "param([switch]$Check)" in ps1
    # Outside the group: 404; a host never audited: 404.
    assert client_for("b_admin").get(f"/api/hosts/{host.pk}/remediation.sh").status_code == 404
    assert APIClient().get(f"/api/hosts/{host.pk}/remediation.sh").status_code == 401
    schema = client.get("/api/schema/?format=json").json()
    assert any("remediation" in path for path in schema["paths"])
