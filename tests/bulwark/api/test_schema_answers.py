"""The schema's defects Schemathesis found, checked directly in the fast set: nullable fields
said so, an import refusal always has `detail`, errors are documented and JSON, creations
link to their objects (tests/bulwark/api/test_schemathesis.py runs the whole check)."""

from __future__ import annotations

from collections.abc import Callable

from rest_framework.test import APIClient

from tests.bulwark.world import World


def test_schema_tells_the_truth_about_nulls_errors_and_links(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    root = client_for("root")
    schema = root.get("/api/schema/", {"format": "json"}).json()
    audit = schema["components"]["schemas"]["Audit"]["properties"]
    assert audit["requested_by"].get("nullable") is True
    result = schema["components"]["schemas"]["Result"]["properties"]["exception"]
    assert result.get("nullable") is True or {"nullable": True} in result.get("allOf", [])
    host = schema["paths"]["/api/hosts/{id}/"]
    assert {"400", "401", "403", "404", "429"} <= set(host["patch"]["responses"])
    assert "409" in host["delete"]["responses"]
    links = schema["paths"]["/api/hosts/"]["post"]["responses"]["201"]["links"]
    assert links["hosts_retrieve"]["parameters"] == {"id": "$response.body#/id"}
    # An audit started by the scheduler has no requester: null, as the schema now says.
    assert root.get(f"/api/audits/{world.a.audit.pk}/").json()["requested_by"] is None


def test_an_import_refusal_always_says_why_in_detail(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    refused = client_for("root").post("/api/policies/import/", {}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "policies refused, nothing imported",
        "problems": ["files: This field is required."],
    }


def test_an_unknown_api_path_is_a_json_404(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    answer = client_for("a_viewer").post("/api/hosts/null,null/audit/")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json" and answer.json() == {
        "detail": "Not found."
    }
