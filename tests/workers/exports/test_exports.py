"""Every export of a real audit validated by its schema or model, tolerant of hosts that could
not be audited and of statuses it does not know, and safe with hostile text.

The exports of the real audit are written to artifacts/exports/ for people to look at."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from trestle.oscal.assessment_plan import AssessmentPlan
from trestle.oscal.assessment_results import AssessmentResults

from workers import exports
from workers.exports import csvfile, htmlpage, junit, oscal, sarif
from workers.exports.model import HostReport, Run

# A whole-machine audit (a session fixture: every local filesystem scanned) and schema
# validation of its exports: not for make test-fast.
pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[2] / "artifacts" / "exports"


def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((HERE / "sarif-schema-2.1.0.json").read_text())
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_the_real_audit_has_every_kind_of_result(audited_host: HostReport) -> None:
    counts = audited_host.counts()
    assert counts["passed"] and counts["failed"] and audited_host.results


def test_each_export_of_the_real_audit_is_written_to_artifacts(demo_run: Run) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for kind in exports.RENDERERS:
        (ARTIFACTS / f"this-machine{exports.SUFFIXES[kind]}").write_bytes(
            exports.render(kind, demo_run)
        )
    (ARTIFACTS / "this-machine.oscal-ap.json").write_bytes(oscal.render_plan(demo_run))
    assert sorted(p.name for p in ARTIFACTS.glob("this-machine.*")) == sorted(
        [f"this-machine{s}" for s in exports.SUFFIXES.values()] + ["this-machine.oscal-ap.json"]
    )


@pytest.mark.parametrize("which", ["demo_run", "mixed_run"])
def test_sarif_is_valid_against_the_official_2_1_0_schema(
    which: str, request: pytest.FixtureRequest
) -> None:
    run: Run = request.getfixturevalue(which)
    document = json.loads(sarif.render(run))
    errors = sorted(sarif_validator().iter_errors(document), key=str)
    assert not errors, errors[:3]
    driver = document["runs"][0]["tool"]["driver"]
    failed = [(h.name, r.rule_id) for h, r in run.results() if r.status == "failed"]
    results = document["runs"][0]["results"]
    # One result per failed check and host, pointing at its rule and naming the host.
    assert [(r["properties"]["host"], r["ruleId"]) for r in results] == failed
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["logicalLocations"][0]["name"] == result["properties"]["host"]
    # Rules carry the help text (rationale + remediation) and the CIS ids as tags.
    with_cis = [
        r for r in driver["rules"] if any(t.startswith("cis:") for t in r["properties"]["tags"])
    ]
    assert with_cis and all("Remediation" in r["help"]["text"] for r in with_cis)
    # Every rule of our policies carries its ATT&CK techniques (workers/engine/attack.py).
    ours = [r for r in driver["rules"] if r["id"].startswith("bulwark_")]
    assert ours and all(
        any(t.startswith("mitre_attack:T") for t in r["properties"]["tags"]) for r in ours
    )


def test_sarif_schema_rejects_what_it_should() -> None:
    """The validator is not a rubber stamp: a result without a message fails."""
    broken = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{}]}]}
    assert list(sarif_validator().iter_errors(broken))


def test_sarif_reports_a_host_that_could_not_be_audited(mixed_run: Run) -> None:
    invocation = json.loads(sarif.render(mixed_run))["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [n["message"]["text"] for n in notes] == ["down: permanent: connection refused"]


@pytest.mark.parametrize("which", ["demo_run", "mixed_run"])
def test_oscal_results_and_plan_validate_with_trestle(
    which: str, request: pytest.FixtureRequest
) -> None:
    run: Run = request.getfixturevalue(which)
    results = AssessmentResults.model_validate(oscal.assessment_results(run)["assessment-results"])
    plan = AssessmentPlan.model_validate(oscal.assessment_plan(run)["assessment-plan"])
    result = results.results[0]
    # One observation per check and host (+ one per host not audited), one finding per verdict.
    verdicts = [r for _, r in run.results() if r.status in ("passed", "failed")]
    expected = sum(len(h.results) for h in run.hosts) + sum(not h.audited for h in run.hosts)
    assert len(result.observations or []) == expected
    assert len(result.findings or []) == len(verdicts)
    states = Counter(
        getattr(f.target.status.state, "value", f.target.status.state)
        for f in result.findings or []
        if f.target.status
    )
    assert states["not-satisfied"] == sum(r.status == "failed" for r in verdicts)
    # The plan's subjects are the results' inventory items: the documents match.
    items = {i.uuid for i in (result.local_definitions.inventory_items or [])}  # type: ignore[union-attr]
    subjects = {s.subject_uuid for s in plan.assessment_subjects[0].include_subjects}  # type: ignore[index, union-attr]
    assert items == subjects and len(items) == len(run.hosts)
    # NIST SP 800-53 and CIS mappings travel as props.
    names = {p.name for f in result.findings or [] for p in f.props or []}
    assert {"cis", "nist_800_53", "mitre_techniques"} <= names


def test_oscal_is_stable_for_the_same_run(demo_run: Run) -> None:
    assert oscal.render(demo_run) == oscal.render(demo_run)


def test_oscal_model_rejects_a_broken_document(demo_run: Run) -> None:
    document = oscal.assessment_results(demo_run)["assessment-results"]
    document["results"][0]["findings"][0]["target"]["status"]["state"] = "maybe"
    with pytest.raises(ValueError, match="state"):
        AssessmentResults.model_validate(document)


@pytest.mark.parametrize("which", ["demo_run", "mixed_run"])
def test_junit_is_valid_against_the_jenkins_junit_schema(
    which: str, request: pytest.FixtureRequest
) -> None:
    schema = xmlschema.XMLSchema(str(HERE / "junit-10.xsd"))
    document = junit.render(request.getfixturevalue(which)).decode()
    errors = [str(e)[:300] for e in schema.iter_errors(document)]
    assert errors == []
    assert not schema.is_valid(document.replace("<testcase ", "<testcase bogus='1' ", 1))


def test_junit_has_one_case_per_check_and_the_right_counts(mixed_run: Run) -> None:
    root = ET.fromstring(junit.render(mixed_run))  # noqa: S314 (our own output)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [h.name for h in mixed_run.hosts]
    real, down, hostile = suites
    host = mixed_run.hosts[0]
    counts = host.counts()
    assert len(real.findall("testcase")) == len(host.results) == int(real.get("tests", ""))
    assert (
        int(real.get("failures", "")) == len(real.findall("testcase/failure")) == counts["failed"]
    )
    assert len(real.findall("testcase/skipped")) == counts["not_applicable"]
    assert down.get("errors") == "1" and "connection refused" in down.find("testcase/error").get(
        "message", ""
    )  # type: ignore[union-attr]
    skipped = [s.get("message", "") for s in hostile.findall("testcase/skipped")]
    assert skipped == ["excepted: accepted risk until 2027", "not applicable"]
    failure = hostile.find("testcase/failure")
    assert failure is not None and "<script>" in (failure.text or "")  # escaped, parsed back
    assert int(root.get("tests", "")) == sum(int(s.get("tests", "")) for s in suites)


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.scripts = 0
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "data") and value:
                self.external.append(value)
        if tag == "link":
            self.external.append(str(attrs))


def test_html_is_self_contained_and_escapes_everything(mixed_run: Run) -> None:
    page = htmlpage.render(mixed_run).decode()
    parser = _Assets()
    parser.feed(page)
    assert parser.external == []  # no src, href or <link>: readable offline
    assert parser.scripts == 1  # ours, allowed by hash in the page's CSP
    assert "evil<b>" not in page and "evil&lt;b&gt;host" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
    assert "default-src 'none'" in page
    # The category summary and a filter for every status, the unknown one too.
    assert "By category" in page and '<option value="excepted">' in page
    assert "not audited: permanent: connection refused" in page


def test_csv_has_a_row_per_result_and_defuses_formulas(mixed_run: Run) -> None:
    rows = list(csv.reader(io.StringIO(csvfile.render(mixed_run).decode())))
    assert rows[0] == list(csvfile.COLUMNS)
    assert len(rows) == 1 + sum(len(h.results) or 1 for h in mixed_run.hosts)
    formula = [cell for row in rows[1:] for cell in row if cell[:1] in ("=", "+", "-", "@")]
    assert formula == []
    assert any(cell == "'=1+1" for row in rows for cell in row)
    assert [r[5] for r in rows if r[0] == "down"] == ["error"]
