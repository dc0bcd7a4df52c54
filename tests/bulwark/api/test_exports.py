"""GET /api/{audits,hosts,groups}/{id}/export.{junit,sarif,oscal,html}: a real audit exported
and validated, scoped to the user's groups, tolerant of unknown statuses and failed audits."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from trestle.oscal.assessment_plan import AssessmentPlan
from trestle.oscal.assessment_results import AssessmentResults

from bulwark.audits import services
from bulwark.audits.models import Audit, AuditStatus, Result
from bulwark.inventory.models import Host
from tests.bulwark.world import World

ROOT = Path(__file__).resolve().parents[3]
KINDS = ("junit", "sarif", "oscal", "html")


def sarif_errors(document: object) -> list[str]:
    schema = json.loads((ROOT / "tests/workers/exports/sarif-schema-2.1.0.json").read_text())
    validator = jsonschema.Draft4Validator(schema)
    return [str(e) for e in validator.iter_errors(document)]


@pytest.mark.slow  # a whole-machine audit (every local filesystem scanned): not for make test-fast
@pytest.mark.django_db(transaction=True)
def test_a_real_audit_exports_in_every_format(catalogue: None, local_host: Host) -> None:
    (audit,) = services.start_audits([local_host])
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DONE, audit.error_reason
    client = APIClient()
    client.force_authenticate(get_user_model().objects.create_superuser("su", password="x"))
    base = f"/api/audits/{audit.pk}/export"
    bodies = {}
    for kind in KINDS:
        response = client.get(f"{base}.{kind}", HTTP_ACCEPT="application/xml")
        assert response.status_code == 200, response.content[:300]
        bodies[kind] = response.content
        assert f'filename="audit-{audit.pk}.' in response["Content-Disposition"]
    failed = Result.objects.filter(audit=audit, status="failed").count()
    sarif = json.loads(bodies["sarif"])
    assert sarif_errors(sarif) == [] and len(sarif["runs"][0]["results"]) == failed
    results = AssessmentResults.model_validate(json.loads(bodies["oscal"])["assessment-results"])
    assert (
        len(results.results[0].observations or [])
        == audit.passed + audit.failed + audit.not_applicable
    )
    plan = client.get(f"{base}.oscal?document=plan")
    AssessmentPlan.model_validate(plan.json()["assessment-plan"])
    suite = ET.fromstring(bodies["junit"]).find("testsuite")  # noqa: S314 (our own output)
    assert suite is not None and suite.get("failures") == str(failed)
    html = client.get(f"{base}.html")
    assert "default-src 'none'" in html["Content-Security-Policy"]
    assert local_host.name.encode() in bodies["html"]
    # The host's latest audit and the group's latest audits are the same document here.
    for url in (
        f"/api/hosts/{local_host.pk}/export.sarif",
        f"/api/groups/{local_host.group_id}/export.sarif",
    ):
        again = client.get(url)
        assert again.status_code == 200
        assert len(again.json()["runs"][0]["results"]) == failed


def test_exports_are_scoped_to_the_users_groups(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    viewer, other = client_for("a_viewer"), client_for("b_admin")
    a = world.a
    urls = [
        f"/api/audits/{a.audit.pk}/export.sarif",
        f"/api/hosts/{a.local.pk}/export.junit",
        f"/api/groups/{a.group.pk}/export.html",
    ]
    for url in urls:
        assert viewer.get(url).status_code == 200, url
        missing = other.get(url)
        assert missing.status_code == 404 and "group-a" not in missing.content.decode()
        assert APIClient().get(url).status_code == 401
    assert viewer.get(f"/api/audits/{a.audit.pk}/export.pdf").status_code == 404


def test_group_export_lists_hosts_without_audit_and_unknown_statuses(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    a = world.a
    never = Host.objects.create(name="never-audited", address="10.0.0.3", group=a.group)
    # A status another feature may add (exceptions) travels through every format.
    Result.objects.filter(pk=a.result.pk).update(status="excepted")
    failed_audit = Audit.objects.create(
        host=a.host, status=AuditStatus.ERROR, error_reason="permanent: host key changed"
    )
    client = client_for("a_viewer")
    for kind in KINDS:
        assert client.get(f"/api/groups/{a.group.pk}/export.{kind}").status_code == 200, kind
    sarif = client.get(f"/api/groups/{a.group.pk}/export.sarif").json()
    assert sarif_errors(sarif) == []
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == [f"{never.name}: no finished audit"]
    junit = ET.fromstring(client.get(f"/api/groups/{a.group.pk}/export.junit").content)  # noqa: S314
    skipped = [s.get("message") for s in junit.iter("skipped")]
    assert any(m and m.startswith("excepted") for m in skipped)
    page = client.get(f"/api/audits/{a.audit.pk}/export.html").content.decode()
    assert '<option value="excepted">' in page
    error = client.get(f"/api/audits/{failed_audit.pk}/export.junit")
    assert b"host key changed" in error.content


def test_the_exports_are_in_the_openapi_schema(client_for: Callable[[str], APIClient]) -> None:
    schema = client_for("a_viewer").get("/api/schema/?format=json").json()
    for prefix in ("audits", "hosts", "groups"):
        assert any(p.startswith(f"/api/{prefix}/") and "export" in p for p in schema["paths"]), (
            prefix
        )
