"""SARIF 2.1.0: one rule per check, one result per failed check with the host as its location.

Code-scanning and vulnerability-management tools (GitHub code scanning, DefectDojo) expect a
physical location, so the host is given as an artifact URI (`host/NAME`) and as a logical
location. `partialFingerprints` keep a finding the same finding across runs. Hosts that could
not be audited become error notifications of the invocation.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from workers.exports.model import FAILED, TOOL_NAME, TOOL_URI, CheckResult, Run, iso

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _text(text: str, fallback: str) -> dict[str, str]:
    return {"text": text.strip() or fallback}


def _help(result: CheckResult) -> dict[str, str]:
    parts = []
    if result.rationale:
        parts.append(f"Rationale: {result.rationale.strip()}")
    if result.remediation:
        parts.append(f"Remediation: {result.remediation.strip()}")
    text = "\n\n".join(parts) or result.title
    markdown = "\n\n".join(
        f"**{label}**\n\n{body.strip()}"
        for label, body in (("Rationale", result.rationale), ("Remediation", result.remediation))
        if body.strip()
    )
    return {"text": text, "markdown": markdown or result.title}


def _rule(result: CheckResult) -> dict[str, Any]:
    tags = [*result.cis_tags(), *(f"nist_sp_800-53:{c}" for c in result.nist_controls())]
    tags += [f"mitre_attack:{technique}" for technique in result.attack_techniques()]
    if result.category:
        tags.append(result.category)
    properties: dict[str, Any] = {"tags": tags, "policy": result.policy_id}
    if result.level is not None:
        properties["cisLevel"] = result.level
    return {
        "id": result.rule_id,
        "name": f"check{result.check_id}",
        "shortDescription": _text(result.title, result.rule_id),
        "fullDescription": _text(result.description, result.title),
        "help": _help(result),
        "defaultConfiguration": {"level": "error"},
        "properties": properties,
    }


def render(run: Run) -> bytes:
    checks = run.checks()
    index = {check.rule_id: position for position, check in enumerate(checks)}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for host in run.hosts:
        if not host.audited:
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{host.name}: {host.error}"},
                    "locations": [_location(host.name, host.address)],
                }
            )
        for result in host.results:
            if result.status != FAILED:
                continue
            message = result.title + (f": {result.reason}" if result.reason else "")
            entry: dict[str, Any] = {
                "ruleId": result.rule_id,
                "ruleIndex": index[result.rule_id],
                "level": "error",
                "kind": "fail",
                "message": {"text": message},
                "locations": [_location(host.name, host.address)],
                "partialFingerprints": {"bulwarkHostCheck/v1": f"{host.name}/{result.rule_id}"},
                "properties": {"host": host.name, "evidence": list(result.evidence)},
            }
            if host.audited_at is not None:
                entry["properties"]["auditedAt"] = iso(host.audited_at)
            results.append(entry)
    invocation: dict[str, Any] = {
        "executionSuccessful": all(host.audited for host in run.hosts),
        "endTimeUtc": iso(run.generated_at),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "informationUri": TOOL_URI,
                        "version": run.tool_version,
                        "rules": [_rule(check) for check in checks],
                    }
                },
                "automationDetails": {"description": {"text": run.title}},
                "invocations": [invocation],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")


def _location(name: str, address: str) -> dict[str, Any]:
    return {
        "physicalLocation": {"artifactLocation": {"uri": f"host/{quote(name, safe='')}"}},
        "logicalLocations": [{"name": name, "fullyQualifiedName": address or name, "kind": "host"}],
    }
