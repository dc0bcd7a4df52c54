"""The catalogue API: everyone reads; superusers import policy files, all or nothing, refused
with name:line messages; the OpenAPI schema, the docs UI and token auth."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from bulwark.policies.models import Check, Policy
from tests.bulwark.policies.test_services import BAD, GOOD
from tests.bulwark.world import PASSWORD, World

pytestmark = pytest.mark.django_db


def test_a_policy_upload_with_errors_is_refused_whole_with_file_line_messages(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    before = (Policy.objects.count(), Check.objects.count())
    files = [
        {"name": "good.yml", "content": GOOD.format(id="good")},
        {"name": "broken.yml", "content": BAD},
    ]
    response = client_for("root").post("/api/policies/import/", {"files": files}, format="json")
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert any(p.startswith("broken.yml:16: ") for p in problems), problems
    assert any(p.startswith("broken.yml:17: ") for p in problems), problems
    assert (Policy.objects.count(), Check.objects.count()) == before  # nothing imported


def test_a_good_upload_is_imported_as_multipart_too(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = client_for("root")
    upload = SimpleUploadedFile("mine.yml", GOOD.format(id="mine").encode())
    response = api.post("/api/policies/import/", {"files": [upload]}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["policies"] == ["mine"]
    policy = Policy.objects.get(policy_id="mine")
    assert policy.origin == "imported" and policy.checks.count() == 2
    detail = api.get(f"/api/policies/{policy.pk}/").json()
    assert "The password file exists" in detail["source"]
    assert "source" not in api.get("/api/policies/").json()["results"][0]
    checks = api.get("/api/checks/", {"policy": "mine"}).json()
    assert checks["count"] == 2


def test_only_superusers_change_the_catalogue(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = client_for("a_admin")
    policy = Policy.objects.get(policy_id="tiny_policy")
    assert api.get("/api/policies/").json()["count"] == 1
    files = {"files": [{"name": "x.yml", "content": GOOD.format(id="x")}]}
    assert api.post("/api/policies/import/", files, format="json").status_code == 403
    assert api.patch(f"/api/policies/{policy.pk}/", {"enabled": False}).status_code == 403
    root = client_for("root")
    assert root.patch(f"/api/policies/{policy.pk}/", {"enabled": False}).status_code == 200
    assert Policy.objects.get(pk=policy.pk).enabled is False
    # Other fields are read-only.
    root.patch(f"/api/policies/{policy.pk}/", {"name": "renamed"})
    assert Policy.objects.get(pk=policy.pk).name != "renamed"


def test_the_schema_is_openapi_3_and_lists_every_endpoint(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    response = client_for("a_viewer").get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    for prefix in ("groups", "hosts", "credentials", "memberships", "policies", "checks"):
        assert f"/api/{prefix}/" in paths
    for prefix in ("audits", "results", "schedules", "alerts", "score-samples"):
        assert f"/api/{prefix}/" in paths
    assert {"/api/hosts/{id}/audit/", "/api/groups/{id}/audit/", "/api/policies/import/"} <= paths
    credential = schema["components"]["schemas"]["Credential"]["properties"]
    assert "secret" not in credential and credential["has_secret"]["readOnly"]
    request = schema["components"]["schemas"]["CredentialRequest"]["properties"]
    assert request["secret"]["writeOnly"]


def test_the_docs_ui_is_served_from_our_own_static_files(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = client_for("a_viewer")
    page = api.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html and "cdn." not in html
    assert api.get("/api/", HTTP_ACCEPT="text/html").status_code == 200  # browsable API


def test_a_token_is_obtained_with_a_password_and_authenticates(world: World) -> None:
    anonymous = APIClient()
    refused = anonymous.post("/api/auth/token/", {"username": "a_viewer", "password": "wrong"})
    assert refused.status_code == 400
    token = anonymous.post("/api/auth/token/", {"username": "a_viewer", "password": PASSWORD})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.get("/api/hosts/").json()["count"] == 2
    session = APIClient()
    assert session.login(username="a_viewer", password=PASSWORD)
    assert session.get("/api/hosts/").json()["count"] == 2
