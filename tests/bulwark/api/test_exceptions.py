"""Exceptions over the API: who may create, approve and revoke; nobody sees another group's;
the result and the audit show the change; export and import as YAML."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from bulwark.audits.models import Audit, Result
from bulwark.audits.risks import RiskException
from tests.bulwark.api.conftest import ids
from tests.bulwark.world import World

pytestmark = pytest.mark.django_db
LATER = (timezone.localdate() + dt.timedelta(days=30)).isoformat()


def _body(world: World, side: str = "a", **extra: Any) -> dict[str, Any]:
    target = getattr(world, side)
    result = (
        Result.objects.filter(audit=target.audit, status="failed")
        .select_related("policy_check__policy")
        .first()
    )
    assert result is not None
    body = {
        "policy_id": result.policy_check.policy.policy_id,
        "check_id": result.policy_check.check_id,
        "host": target.local.pk,
        "justification": "accepted until the migration",
        "owner": "ops",
        "reference": "SEC-9",
        "expires_at": LATER,
    }
    body.update(extra)
    return body


def test_viewers_cannot_create_exceptions_operators_can(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    refused = client_for("a_viewer").post("/api/exceptions/", _body(world), format="json")
    assert refused.status_code in (400, 403)
    assert not RiskException.objects.exists()
    made = client_for("a_operator").post("/api/exceptions/", _body(world), format="json")
    assert made.status_code == 201, made.content
    assert made.json()["status"] == "active"
    assert [e["action"] for e in made.json()["events"]] == ["created"]
    audit = Audit.objects.get(pk=world.a.audit.pk)
    assert audit.excepted == 1 and audit.score is not None and audit.raw_score is not None
    assert audit.score > audit.raw_score
    detail = client_for("a_viewer").get(f"/api/audits/{audit.pk}/").json()
    assert (detail["excepted"], detail["raw_score"]) == (1, audit.raw_score)
    results = client_for("a_viewer").get(f"/api/results/?audit={audit.pk}&status=excepted")
    [row] = results.json()["results"]
    assert row["exception"]["justification"] == "accepted until the migration"
    assert row["exception"]["expires_at"] == LATER


def test_no_one_sees_or_touches_another_groups_exceptions(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    body_b = _body(world, "b")
    theirs = client_for("b_admin").post("/api/exceptions/", body_b, format="json")
    assert theirs.status_code == 201, theirs.content
    pk = theirs.json()["id"]
    admin = client_for("a_admin")
    assert admin.get(f"/api/exceptions/{pk}/").status_code == 404
    assert admin.post(f"/api/exceptions/{pk}/revoke/").status_code == 404
    assert admin.post(f"/api/exceptions/{pk}/approve/").status_code == 404
    assert pk not in ids(admin.get("/api/exceptions/"))
    assert "SEC-9" not in admin.get("/api/exceptions/export/").content.decode()
    # Pointing one at B's host from A is refused as for any related field.
    on_b = admin.post("/api/exceptions/", body_b, format="json")
    assert on_b.status_code == 400 and "host" in on_b.json()
    assert RiskException.objects.get(pk=pk).status == "active"


def test_fleet_wide_exceptions_are_for_superusers(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    body = _body(world, host=None)
    assert client_for("a_admin").post("/api/exceptions/", body, format="json").status_code == 403
    made = client_for("root").post("/api/exceptions/", body, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["id"] in ids(client_for("b_admin").get("/api/exceptions/"))


def test_with_approval_a_group_admin_cannot_approve_their_own(
    settings: Any, world: World, client_for: Callable[[str], APIClient]
) -> None:
    settings.EXCEPTION_APPROVAL = True
    from bulwark.inventory.models import Membership, Role

    second = type(world.users["a_admin"]).objects.create_user("a_admin2", password="x-Pass-1")
    Membership.objects.create(user=second, group=world.a.group, role=Role.ADMIN)
    world.users["a_admin2"] = second
    made = client_for("a_admin").post("/api/exceptions/", _body(world), format="json")
    assert made.status_code == 201 and made.json()["status"] == "pending"
    pk = made.json()["id"]
    assert Audit.objects.get(pk=world.a.audit.pk).excepted == 0
    assert client_for("a_admin").post(f"/api/exceptions/{pk}/approve/").status_code == 403
    assert client_for("a_operator").post(f"/api/exceptions/{pk}/approve/").status_code == 403
    approved = client_for("a_admin2").post(f"/api/exceptions/{pk}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert Audit.objects.get(pk=world.a.audit.pk).excepted == 1
    assert client_for("a_admin2").post(f"/api/exceptions/{pk}/approve/").status_code == 409
    revoked = client_for("a_admin").post(f"/api/exceptions/{pk}/revoke/", {"note": "fixed"})
    assert revoked.status_code == 200
    assert [e["action"] for e in revoked.json()["events"]] == ["created", "approved", "revoked"]
    assert Audit.objects.get(pk=world.a.audit.pk).excepted == 0


def test_exceptions_cannot_be_edited_or_deleted_in_place(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    admin = client_for("a_admin")
    pk = admin.post("/api/exceptions/", _body(world), format="json").json()["id"]
    assert admin.patch(f"/api/exceptions/{pk}/", {"owner": "x"}, format="json").status_code == 405
    assert admin.delete(f"/api/exceptions/{pk}/").status_code == 405
    assert RiskException.objects.get(pk=pk).owner == "ops"


def test_import_over_the_api_is_all_or_nothing(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    body = _body(world)
    good = (
        "exceptions:\n"
        f"  - policy_id: {body['policy_id']}\n    check_id: '{body['check_id']}'\n"
        f"    host: {world.a.local.name}\n    justification: j\n    owner: o\n"
        f"    expires_at: {LATER}\n"
    )
    bad = good + f"  - policy_id: {body['policy_id']}\n    check_id: '9001'\n"
    admin = client_for("a_admin")
    refused = admin.post(
        "/api/exceptions/import/", {"name": "ex.yml", "content": bad}, format="json"
    )
    assert refused.status_code == 400
    assert any(p.startswith("ex.yml:8: missing") for p in refused.json()["problems"])
    assert not RiskException.objects.exists()
    # Another group's host by name: as if it did not exist.
    theirs = good.replace(world.a.local.name, world.b.local.name)
    hidden = admin.post(
        "/api/exceptions/import/", {"name": "ex.yml", "content": theirs}, format="json"
    )
    assert hidden.status_code == 400
    assert f"no host named '{world.b.local.name}'" in hidden.json()["problems"][0]
    made = admin.post("/api/exceptions/import/", {"name": "ex.yml", "content": good}, format="json")
    assert made.status_code == 201 and len(made.json()["created"]) == 1
