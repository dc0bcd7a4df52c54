"""JUnit XML: one test suite per host, one test case per check.

Failed -> <failure> with the evidence, not applicable -> <skipped> with the reason, any other
status (excepted...) -> <skipped> naming it; a host that could not be audited -> one <error>.
The layout is the one CI servers read (Jenkins, GitLab, GitHub actions' reporters).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from workers.exports.model import FAILED, NOT_APPLICABLE, PASSED, HostReport, Run, clean_text, iso


def render(run: Run) -> bytes:
    root = ET.Element("testsuites", name=clean_text(run.title))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for host in run.hosts:
        suite = _suite(host)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    # The root carries no `skipped`: Jenkins' schema (the de-facto one) has no such attribute.
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def _suite(host: HostReport) -> ET.Element:
    suite = ET.Element("testsuite", name=clean_text(host.name))
    if host.audited_at is not None:
        suite.set("timestamp", iso(host.audited_at))
    properties = ET.SubElement(suite, "properties")
    for name, value in (("address", host.address), ("hostname", host.hostname), ("os", host.os)):
        if value:
            ET.SubElement(properties, "property", name=name, value=clean_text(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if not host.audited:
        case = ET.SubElement(suite, "testcase", classname=clean_text(host.name), name="audit")
        ET.SubElement(case, "error", message=clean_text(host.error), type="AuditError")
        counts["tests"], counts["errors"] = 1, 1
    for result in host.results:
        counts["tests"] += 1
        case = ET.SubElement(
            suite,
            "testcase",
            classname=clean_text(f"{host.name}.{result.policy_id}"),
            name=clean_text(f"{result.check_id} {result.title}"),
        )
        if result.status == PASSED:
            continue
        if result.status == FAILED:
            counts["failures"] += 1
            failure = ET.SubElement(
                case,
                "failure",
                message=clean_text(result.reason or result.title),
                type="CheckFailed",
            )
            failure.text = clean_text("\n".join(result.evidence) or result.title)
        else:
            counts["skipped"] += 1
            label = "not applicable" if result.status == NOT_APPLICABLE else result.status
            message = f"{label}: {result.reason}" if result.reason else label
            ET.SubElement(case, "skipped", message=clean_text(message))
    for name, count in counts.items():
        suite.set(name, str(count))
    return suite
