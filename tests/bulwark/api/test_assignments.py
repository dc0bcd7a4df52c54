"""Assignments over the API: group admins set their group's, superusers the defaults, nobody
sees or touches another group's; bad levels and profiles are 400s naming the field."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from bulwark.audits.models import Assignment
from bulwark.policies.models import Policy
from tests.bulwark.api.conftest import ids
from tests.bulwark.world import World

pytestmark = pytest.mark.django_db


def _policy() -> int:
    return int(Policy.objects.get(policy_id="tiny_policy").pk)


def test_group_admins_set_their_groups_assignments_and_only_theirs(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    admin = client_for("a_admin")
    made = admin.post(
        "/api/assignments/",
        {"policy": _policy(), "group": world.a.group.pk, "levels": [1], "profile": None},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["levels"] == [1] and made.json()["policy_id"] == "tiny_policy"
    on_b = admin.post(
        "/api/assignments/", {"policy": _policy(), "group": world.b.group.pk}, format="json"
    )
    assert on_b.status_code == 400 and "group" in on_b.json()
    on_b_host = admin.post(
        "/api/assignments/", {"policy": _policy(), "host": world.b.host.pk}, format="json"
    )
    assert on_b_host.status_code == 400 and "host" in on_b_host.json()
    theirs = Assignment.objects.create(policy_id=_policy(), group=world.b.group, levels=[1, 2])
    url = f"/api/assignments/{theirs.pk}/"
    assert admin.get(url).status_code == 404
    assert admin.patch(url, {"levels": [1]}, format="json").status_code == 404
    assert admin.delete(url).status_code == 404
    assert theirs.pk not in ids(admin.get("/api/assignments/"))
    assert ids(client_for("b_admin").get("/api/assignments/")) == {theirs.pk}


def test_viewers_and_operators_cannot_set_assignments(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    for name in ("a_viewer", "a_operator"):
        response = client_for(name).post(
            "/api/assignments/", {"policy": _policy(), "group": world.a.group.pk}, format="json"
        )
        assert response.status_code == 403, name
    mine = Assignment.objects.create(policy_id=_policy(), group=world.a.group)
    viewer = client_for("a_viewer")
    assert viewer.get(f"/api/assignments/{mine.pk}/").status_code == 200
    assert viewer.delete(f"/api/assignments/{mine.pk}/").status_code == 403
    assert Assignment.objects.filter(pk=mine.pk).exists()


def test_only_superusers_set_defaults_which_everyone_reads(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    refused = client_for("a_admin").post(
        "/api/assignments/", {"policy": _policy(), "levels": [1]}, format="json"
    )
    assert refused.status_code == 403
    made = client_for("root").post(
        "/api/assignments/", {"policy": _policy(), "levels": [1]}, format="json"
    )
    assert made.status_code == 201, made.content
    default = made.json()["id"]
    admin = client_for("a_admin")
    assert default in ids(admin.get("/api/assignments/"))
    assert (
        admin.patch(f"/api/assignments/{default}/", {"levels": [1, 2]}, format="json").status_code
        == 403
    )
    assert admin.delete(f"/api/assignments/{default}/").status_code == 403
    assert Assignment.objects.get(pk=default).levels == [1]


def test_bad_levels_and_profiles_name_the_field(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    admin = client_for("a_admin")
    bad_levels = admin.post(
        "/api/assignments/",
        {"policy": _policy(), "group": world.a.group.pk, "levels": [3]},
        format="json",
    )
    assert bad_levels.status_code == 400 and "levels" in bad_levels.json()
    bad_profile = admin.post(
        "/api/assignments/",
        {"policy": _policy(), "group": world.a.group.pk, "profile": "server"},
        format="json",
    )
    assert bad_profile.status_code == 400 and "profile" in bad_profile.json()
    assert not Assignment.objects.exists()


def test_policy_verdicts_are_scoped_to_your_groups(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    from bulwark.audits.models import PolicyVerdict

    verdict_b = PolicyVerdict.objects.get(audit=world.b.audit)
    admin = client_for("a_admin")
    assert admin.get(f"/api/policy-verdicts/{verdict_b.pk}/").status_code == 404
    listed = ids(admin.get("/api/policy-verdicts/"))
    assert listed and verdict_b.pk not in listed
