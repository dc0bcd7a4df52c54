"""Finding: input that crashed things. A deep policy (libyaml's recursion: SIGSEGV of the web
worker), a 606-byte billion-laughs policy, NUL bytes (a 500 on PostgreSQL), a 3 MB JSON import
(an HTML error), huge numeric filters (a 500 on SQLite). Each is now a clear 4xx in JSON,
and the schema is served to signed-in users only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from bulwark.policies.models import Policy
from tests.bulwark.world import World

LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
policy: *i
"""


def _import(client: APIClient, name: str, content: str) -> tuple[int, dict[str, object]]:
    answer = client.post(
        "/api/policies/import/", {"files": [{"name": name, "content": content}]}, format="json"
    )
    return answer.status_code, answer.json()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("policy:\n  id: deep\n  x: " + "[" * 200_000 + "]" * 200_000 + "\n", "deep.yml:3: nested"),
        (LAUGHS, "deep.yml:7: expands to more than"),
    ],
    ids=["deep", "billion-laughs"],
)
def test_hostile_policies_are_refused_with_file_and_line(
    world: World, client_for: Callable[[str], APIClient], content: str, expected: str
) -> None:
    before = Policy.objects.count()
    code, body = _import(client_for("root"), "deep.yml", content)
    assert code == 400, body
    assert any(str(p).startswith(expected) for p in body["problems"]), body  # type: ignore[attr-defined]
    assert Policy.objects.count() == before


def test_a_nul_byte_in_an_uploaded_policy_is_refused_with_its_line(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    content = b'policy:\n  id: nul\n  name: "a\0b"\n'
    upload = SimpleUploadedFile("nul.yml", content, content_type="application/x-yaml")
    answer = client_for("root").post(
        "/api/policies/import/", {"files": [upload]}, format="multipart"
    )
    assert answer.status_code == 400
    assert answer.json()["problems"] == ["nul.yml:3: a NUL character is not allowed in a policy"]


def test_a_json_import_over_the_body_limit_is_a_json_413(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    answer = client_for("root").post(
        "/api/policies/import/",
        {"files": [{"name": "big.yml", "content": "#" * 3_000_000}]},
        format="json",
    )
    assert answer.status_code == 413
    assert "multipart" in answer.json()["detail"]


@pytest.mark.parametrize("url", ["/api/hosts/", "/api/results/", "/api/audits/"])
@pytest.mark.parametrize("value", ["1e30", "99999999999999999999999", "-1e30"])
def test_huge_numeric_filters_are_a_400(
    world: World, client_for: Callable[[str], APIClient], url: str, value: str
) -> None:
    answer = client_for("a_viewer").get(url, {"group": value})
    assert answer.status_code == 400, answer.content[:300]
    assert "group" in answer.json()


def test_the_schema_and_docs_are_for_signed_in_users(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    anonymous = APIClient()
    assert anonymous.get("/api/schema/").status_code in (401, 403)
    assert anonymous.get("/api/docs/").status_code in (401, 403)
    assert client_for("a_viewer").get("/api/schema/").status_code == 200
