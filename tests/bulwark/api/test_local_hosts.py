"""Finding: a group admin audited the Bulwark machine itself with the `local` transport. Local
hosts are made by superusers only, and audited only while ALLOW_LOCAL_AUDITS is on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from bulwark.audits import services
from bulwark.audits.models import Audit, AuditStatus, Result
from tests.bulwark.world import World


def _local(world: World, name: str = "bulwark-itself") -> dict[str, object]:
    return {"name": name, "address": "localhost", "transport": "local", "group": world.a.group.pk}


def test_a_group_admin_cannot_add_a_local_host(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    response = client_for("a_admin").post("/api/hosts/", _local(world), format="json")
    assert response.status_code == 400
    assert "only a superuser" in response.json()["transport"][0]


def test_a_group_admin_cannot_turn_a_host_into_a_local_one(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    url = f"/api/hosts/{world.a.host.pk}/"
    change = {"transport": "local", "credential": None}
    response = client_for("a_admin").patch(url, change, format="json")
    assert response.status_code == 400 and "transport" in response.json()
    world.a.host.refresh_from_db()
    assert world.a.host.transport == "ssh"


def test_a_superuser_adds_a_local_host_only_when_local_audits_are_allowed(
    world: World, client_for: Callable[[str], APIClient], settings: pytest.FixtureRequest
) -> None:
    root = client_for("root")
    settings.ALLOW_LOCAL_AUDITS = False  # type: ignore[attr-defined]
    refused = root.post("/api/hosts/", _local(world), format="json")
    assert refused.status_code == 400 and "ALLOW_LOCAL_AUDITS" in refused.json()["transport"][0]
    settings.ALLOW_LOCAL_AUDITS = True  # type: ignore[attr-defined]
    assert root.post("/api/hosts/", _local(world), format="json").status_code == 201


def test_an_existing_local_host_is_not_audited_while_local_audits_are_off(
    world: World,
    client_for: Callable[[str], APIClient],
    enqueued: list[int],
    settings: pytest.FixtureRequest,
) -> None:
    settings.ALLOW_LOCAL_AUDITS = False  # type: ignore[attr-defined]
    operator = client_for("a_operator")
    response = operator.post(f"/api/hosts/{world.a.local.pk}/audit/", {}, format="json")
    assert response.status_code in (200, 201, 202), response.content
    services.run_audit(enqueued[-1])
    audit = Audit.objects.get(pk=enqueued[-1])
    assert audit.status == AuditStatus.ERROR and "ALLOW_LOCAL_AUDITS" in audit.error_reason
    assert not Result.objects.filter(audit=audit).exists()
