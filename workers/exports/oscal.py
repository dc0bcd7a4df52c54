"""OSCAL 1.1 assessment-results and the matching assessment-plan (JSON).

Each host is an inventory item; each check on each host an observation (what was examined and
found) and, when it passed or failed, a finding whose target is the check (objective-id) with
state satisfied / not-satisfied. CIS and NIST SP 800-53 mappings travel as props in our own
namespace. Identifiers are UUIDv5 derived from the run, so re-exporting an audit is stable.
"""

from __future__ import annotations

import json
import re
from typing import Any

from workers.exports.model import (
    FAILED,
    PASSED,
    TOOL_NAME,
    CheckResult,
    HostReport,
    Run,
    aware,
    iso,
)

OSCAL_VERSION = "1.1.2"
NS = "https://bulwark.dev/ns/oscal"  # our props' namespace (a name, never fetched)
PLAN_HREF = "assessment-plan.json"
_TOKEN = re.compile(r"[^A-Za-z0-9_.\-]")


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": _TOKEN.sub("-", name), "ns": NS, "value": value.strip() or "-"}


def _metadata(run: Run, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "last-modified": iso(run.generated_at),
        "version": run.tool_version,
        "oscal-version": OSCAL_VERSION,
    }


def _inventory_item(run: Run, host: HostReport) -> dict[str, Any]:
    props = [_prop("host-name", host.name)]
    if host.address:
        props.append(_prop("address", host.address))
    if host.hostname:
        props.append(_prop("hostname", host.hostname))
    if host.os:
        props.append(_prop("os", host.os))
    return {
        "uuid": run.uuid("host", host.key()),
        "description": f"Host {host.name}" + (f" ({host.address})" if host.address else ""),
        "props": props,
    }


def _check_props(result: CheckResult) -> list[dict[str, str]]:
    props = [
        _prop("policy", result.policy_id),
        _prop("check-id", result.check_id),
        _prop("result", result.status),
    ]
    if result.category:
        props.append(_prop("category", result.category))
    for key, values in sorted(result.compliance.items()):
        props += [_prop(key, value) for value in values if str(value).strip()]
    return props


def assessment_plan(run: Run) -> dict[str, Any]:
    items = [_inventory_item(run, host) for host in run.hosts]
    plan: dict[str, Any] = {
        "uuid": run.uuid("plan"),
        "metadata": _metadata(run, f"{run.title}: assessment plan"),
        # We assess hosts against benchmarks, not a system security plan: the SSP is external.
        "import-ssp": {"href": "#system-security-plan"},
        "reviewed-controls": {
            "description": "Every check of the policies run by " + TOOL_NAME,
            "control-selections": [{"include-all": {}}],
        },
    }
    if items:
        plan["local-definitions"] = {"inventory-items": items}
        plan["assessment-subjects"] = [
            {
                "type": "inventory-item",
                "include-subjects": [
                    {"subject-uuid": item["uuid"], "type": "inventory-item"} for item in items
                ],
            }
        ]
    return {"assessment-plan": plan}


def assessment_results(run: Run, plan_href: str = PLAN_HREF) -> dict[str, Any]:
    observations: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    items = []
    for host in run.hosts:
        item = _inventory_item(run, host)
        items.append(item)
        subject = {"subject-uuid": item["uuid"], "type": "inventory-item", "title": host.name}
        collected = iso(host.audited_at or run.generated_at)
        if not host.audited:
            observations.append(
                {
                    "uuid": run.uuid("error", host.key()),
                    "title": f"{host.name}: not audited",
                    "description": host.error,
                    "methods": ["TEST"],
                    "subjects": [subject],
                    "collected": collected,
                    "props": [_prop("result", "error")],
                }
            )
        for result in host.results:
            observation_uuid = run.uuid("observation", host.key(), result.rule_id)
            description = result.title + (f": {result.reason}" if result.reason else "")
            observation: dict[str, Any] = {
                "uuid": observation_uuid,
                "title": f"{result.check_id} {result.title}",
                "description": description,
                "methods": ["TEST"],
                "types": ["finding"] if result.status == FAILED else ["control-objective"],
                "subjects": [subject],
                "collected": collected,
                "props": _check_props(result),
            }
            if result.evidence:
                observation["remarks"] = "\n".join(result.evidence)
            observations.append(observation)
            if result.status not in (PASSED, FAILED):
                continue  # no verdict to state for not applicable, excepted...
            findings.append(
                {
                    "uuid": run.uuid("finding", host.key(), result.rule_id),
                    "title": f"{host.name}: {result.check_id} {result.title}",
                    "description": result.description.strip() or result.title,
                    "props": _check_props(result),
                    "target": {
                        "type": "objective-id",
                        "target-id": _TOKEN.sub("-", result.rule_id),
                        "title": result.title,
                        "status": {
                            "state": "satisfied" if result.status == PASSED else "not-satisfied"
                        },
                    },
                    "related-observations": [{"observation-uuid": observation_uuid}],
                }
            )
    started = [aware(h.audited_at) for h in run.hosts if h.audited_at is not None]
    result_entry: dict[str, Any] = {
        "uuid": run.uuid("result"),
        "title": run.title,
        "description": f"Results of {TOOL_NAME} audits of {len(run.hosts)} host(s)",
        "start": iso(min(started) if started else run.generated_at),
        "end": iso(run.generated_at),
        "reviewed-controls": {"control-selections": [{"include-all": {}}]},
    }
    if items:
        result_entry["local-definitions"] = {"inventory-items": items}
    if observations:
        result_entry["observations"] = observations
    if findings:
        result_entry["findings"] = findings
    document = {
        "uuid": run.uuid("results"),
        "metadata": _metadata(run, run.title),
        "import-ap": {"href": plan_href},
        "results": [result_entry],
    }
    return {"assessment-results": document}


def render(run: Run) -> bytes:
    return json.dumps(assessment_results(run), indent=2, ensure_ascii=False).encode("utf-8")


def render_plan(run: Run) -> bytes:
    return json.dumps(assessment_plan(run), indent=2, ensure_ascii=False).encode("utf-8")
