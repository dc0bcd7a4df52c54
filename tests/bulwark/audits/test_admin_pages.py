"""The admin of assignments, exceptions (with their trail) and policy verdicts: pages load for
a superuser; a group admin cannot set defaults nor delete an exception."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from bulwark.audits import risk_services
from bulwark.audits.models import Assignment, Result
from bulwark.audits.risks import RiskException
from bulwark.inventory.models import Membership, Role
from bulwark.policies.models import Policy
from tests.bulwark.world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None) -> World:
    return build_world()


def test_admin_pages_of_the_new_models(world: World) -> None:
    root = world.users["root"]
    result = Result.objects.filter(audit=world.a.audit, status="failed").first()
    assert result is not None
    exception = risk_services.create(
        root,
        RiskException(
            policy_id="tiny_policy",
            check_id=result.policy_check.check_id,
            host=world.a.local,
            justification="kept for the test",
            owner="ops",
            expires_at=timezone.localdate() + dt.timedelta(days=5),
        ),
    )
    risk_services.revoke(root, exception, "done")
    Assignment.objects.create(policy=Policy.objects.get(policy_id="tiny_policy"), levels=[1])
    client = Client()
    client.force_login(root)
    for url in (
        "/admin/audits/riskexception/",
        f"/admin/audits/riskexception/{exception.pk}/change/",
        "/admin/audits/assignment/",
        "/admin/audits/assignment/add/",
        "/admin/audits/policyverdict/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    trail = client.get(f"/admin/audits/riskexception/{exception.pk}/change/").content.decode()
    assert "created" in trail and "revoked" in trail and "kept for the test" in trail

    admin = world.users["a_admin"]
    Membership.objects.filter(user=admin).update(role=Role.ADMIN)
    client.force_login(admin)
    default = Assignment.objects.get(group__isnull=True, host__isnull=True)
    assert client.get(f"/admin/audits/assignment/{default.pk}/change/").status_code == 200
    changed = client.post(
        f"/admin/audits/assignment/{default.pk}/change/",
        {"policy": default.policy_id, "levels": "[1, 2]"},
    )
    assert changed.status_code == 403
    assert Assignment.objects.get(pk=default.pk).levels == [1]
    assert client.post(f"/admin/audits/riskexception/{exception.pk}/delete/").status_code == 403
    assert RiskException.objects.filter(pk=exception.pk).exists()


def test_the_admin_changes_assignments_through_the_service(world: World) -> None:
    """Saved or deleted in the admin, an assignment re-scores its hosts at once and is in the
    security log, as through the API."""
    from bulwark.audits.models import Audit, ScoreSample
    from bulwark.core.models import SecurityEvent
    from bulwark.policies.models import Check

    tiny = Policy.objects.get(policy_id="tiny_policy")
    Check.objects.filter(policy=tiny, check_id="9002").update(level=2)
    audit = world.a.audit
    assert Result.objects.filter(audit=audit, policy_check__check_id="9002").exists()
    admin = world.users["a_admin"]
    Membership.objects.filter(user=admin).update(role=Role.ADMIN)
    client = Client()
    client.force_login(admin)
    added = client.post(
        "/admin/audits/assignment/add/",
        {"policy": tiny.pk, "group": world.a.group.pk, "levels": "[1]"},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    assert not Result.objects.filter(audit=audit, policy_check__check_id="9002").exists()
    fresh = Audit.objects.get(pk=audit.pk)
    assert fresh.passed + fresh.failed + fresh.not_applicable == 2
    point = ScoreSample.objects.filter(audit=audit).exclude(rescored="").get()
    assert point.rescored.startswith("assignment created: tiny_policy on group")
    assert SecurityEvent.objects.get(kind="assignment.created").actor == admin
    assignment = Assignment.objects.get(group=world.a.group)
    deleted = client.post(f"/admin/audits/assignment/{assignment.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert SecurityEvent.objects.filter(kind="assignment.deleted").count() == 1
    # Every level again: 9002 was dropped from the stored audit, so the hosts need a re-audit.
    world.a.local.refresh_from_db()
    assert world.a.local.scope_widened_reason.startswith("assignment deleted: tiny_policy")
