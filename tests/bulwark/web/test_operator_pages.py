"""The operator pages of groups and members, policies and assignments, exceptions and the host
import: each role gets what the API gives it (another group's row is a 404, a change without
the role a 403 or a refusal on the page), form errors are shown on the page, and the happy path
changes the rows through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from bulwark.audits import risk_services
from bulwark.audits.risks import RiskException
from bulwark.audits.targets import Assignment
from bulwark.core.models import SecurityEvent
from bulwark.inventory import imports
from bulwark.inventory.models import Group, Host, Membership, Role
from bulwark.policies.models import Policy
from tests.bulwark.web.test_manage import signed_in
from tests.bulwark.world import PASSWORD, World


def page(client: Client, url: str) -> str:
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.content.decode()


# -- groups and members ---------------------------------------------------------------------------


def test_groups_list_your_groups_and_only_superusers_add_one(world: World) -> None:
    body = page(signed_in("a_viewer"), "/manage/groups/")
    assert "group-a" in body and "group-b" not in body
    assert 'id="add-group"' not in body and f'id="edit-group-{world.a.group.pk}"' not in body
    assert signed_in("a_admin").get("/manage/groups/new/").status_code == 403
    root = signed_in("root")
    assert 'id="add-group"' in page(root, "/manage/groups/")
    made = root.post("/manage/groups/new/", {"name": "group-c", "zone": "default"})
    assert made.status_code == 302 and Group.objects.filter(name="group-c").exists()


def test_a_group_admin_sets_thresholds_with_the_models_validation(world: World) -> None:
    group = world.a.group
    url = f"/manage/groups/{group.pk}/"
    assert signed_in("a_viewer").get(url).status_code == 403
    assert signed_in("a_operator").post(url, {"warning_below": 90}).status_code == 403
    assert signed_in("b_admin").get(url).status_code == 404
    admin = signed_in("a_admin")
    form = {"name": "renamed", "zone": "default", "description": "", "max_parallel": ""}
    bad = admin.post(url, {**form, "warning_below": 40, "critical_below": 60})
    assert bad.status_code == 200 and "errorlist" in bad.content.decode()
    good = admin.post(url, {**form, "warning_below": 85, "critical_below": 55})
    assert good.status_code == 302
    group.refresh_from_db()
    # Thresholds saved; the name is not: only a superuser renames (names are unique).
    assert (group.warning_below, group.critical_below, group.name) == (85, 55, "group-a")


def test_members_are_added_from_those_the_admin_may_add_and_changed_by_admins(
    world: World,
) -> None:
    group = world.a.group
    loner = get_user_model().objects.create_user("loner", password=PASSWORD)
    admin = signed_in("a_admin")
    url = f"/manage/groups/{group.pk}/members/"
    # b_admin exists but is in no group a_admin administers: the same answer as no such user.
    for name in ("b_admin", "loner", "nobody-at-all"):
        refused = admin.post(url, {"username": name, "role": "viewer"})
        assert refused.status_code == 400
        assert "no such user among those you may add" in refused.content.decode()
    again = admin.post(url, {"username": "a_viewer", "role": "viewer"})
    assert "already a member" in again.content.decode()
    assert signed_in("a_operator").post(url, {"username": "a_viewer"}).status_code == 403
    # A superuser adds anyone; the admin then changes the role and removes the member.
    assert signed_in("root").post(url, {"username": "loner", "role": "viewer"}).status_code == 302
    membership = Membership.objects.get(user=loner, group=group)
    member_url = f"/manage/groups/{group.pk}/members/{membership.pk}/"
    assert signed_in("a_viewer").post(member_url, {"role": "admin"}).status_code == 403
    assert signed_in("b_admin").post(member_url, {"role": "admin"}).status_code == 404
    assert admin.post(member_url, {"role": "operator"}).status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.OPERATOR
    assert admin.post(member_url, {"remove": "1"}).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


# -- policies and assignments ---------------------------------------------------------------------


def test_a_group_admin_assigns_level_1_to_their_group_only(world: World) -> None:
    policy = Policy.objects.get(policy_id="tiny_policy")
    viewer = signed_in("a_viewer")
    assert 'id="add-assignment"' not in page(viewer, "/manage/policies/")
    assert viewer.get("/manage/assignments/new/").status_code == 403
    admin = signed_in("a_admin")
    form = page(admin, "/manage/assignments/new/")
    assert "group-b" not in form and "web-b" not in form
    base = {"policy": policy.pk, "levels": "1", "profile": ""}
    other = admin.post("/manage/assignments/new/", {**base, "group": world.b.group.pk})
    assert other.status_code == 200 and "errorlist" in other.content.decode()
    default = admin.post("/manage/assignments/new/", base)  # no group, no host: a default
    assert "only superusers set the defaults" in default.content.decode()
    both = admin.post(
        "/manage/assignments/new/", {**base, "group": world.a.group.pk, "host": world.a.host.pk}
    )
    assert "not both" in both.content.decode()
    assert not Assignment.objects.exists()
    made = admin.post("/manage/assignments/new/", {**base, "group": world.a.group.pk})
    assert made.status_code == 302
    assignment = Assignment.objects.get()
    assert (assignment.group, assignment.levels, assignment.created_by) == (
        world.a.group,
        [1],
        world.users["a_admin"],
    )
    # Another group's admin neither sees nor changes it; a viewer of the group cannot change it.
    assert f"edit-assignment-{assignment.pk}" not in page(signed_in("b_admin"), "/manage/policies/")
    assert signed_in("b_admin").get(f"/manage/assignments/{assignment.pk}/").status_code == 404
    assert viewer.get(f"/manage/assignments/{assignment.pk}/").status_code == 403
    assert viewer.post(f"/manage/assignments/{assignment.pk}/delete/").status_code == 403
    twice = admin.post("/manage/assignments/new/", {**base, "group": world.a.group.pk})
    assert twice.status_code == 200 and Assignment.objects.count() == 1
    assert admin.post(f"/manage/assignments/{assignment.pk}/delete/").status_code == 302
    assert not Assignment.objects.exists()
    # Through the API's service (audits/assignment_services.py): logged, and re-scored.
    logged = SecurityEvent.objects.filter(kind__startswith="assignment.")
    assert list(logged.order_by("pk").values_list("kind", flat=True)) == [
        "assignment.created",
        "assignment.deleted",
    ]
    # The defaults are a superuser's.
    assert signed_in("root").post("/manage/assignments/new/", base).status_code == 302
    assert Assignment.objects.get().group is None


def test_a_large_fleet_s_assignment_takes_its_host_by_name(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulwark.web import host_picker

    monkeypatch.setattr(host_picker, "LIST_LIMIT", 1)  # a_admin administers 2 hosts
    policy = Policy.objects.get(policy_id="tiny_policy")
    admin = signed_in("a_admin")
    form = page(admin, "/manage/assignments/new/")
    assert 'type="text" name="host"' in form and "local-a" not in form
    base = {"policy": policy.pk, "levels": "1", "profile": ""}
    refused = admin.post("/manage/assignments/new/", {**base, "host": "web-b"})
    assert "no host you may choose here is named web-b" in refused.content.decode()
    made = admin.post("/manage/assignments/new/", {**base, "host": "web-a (group-a)"})
    assert made.status_code == 302
    assert Assignment.objects.get().host == world.a.host


def test_only_superusers_enable_and_disable_policies(world: World) -> None:
    policy = Policy.objects.get(policy_id="tiny_policy")
    url = f"/manage/policies/{policy.pk}/enable/"
    assert f'id="toggle-{policy.policy_id}"' not in page(signed_in("a_admin"), "/manage/policies/")
    assert signed_in("a_admin").post(url, {"enabled": "0"}).status_code == 403
    assert Policy.objects.get(pk=policy.pk).enabled
    assert signed_in("root").post(url, {"enabled": "0"}).status_code == 302
    assert not Policy.objects.get(pk=policy.pk).enabled
    switched = SecurityEvent.objects.get(kind="policy.switched")
    assert (switched.target, switched.detail) == ("tiny_policy", {"enabled": False})


# -- exceptions -----------------------------------------------------------------------------------


def an_exception(world: World, by: str) -> RiskException:
    """A host exception on group A's failed result, requested by `by`."""
    result = world.a.result
    return risk_services.create(
        world.users[by],
        RiskException(
            policy_id=result.policy_check.policy.policy_id,
            check_id=result.policy_check.check_id,
            host=world.a.host,
            justification="compensated by the firewall",
            owner="ops",
            reference="SEC-1",
            expires_at=timezone.localdate() + dt.timedelta(days=30),
        ),
    )


def test_exceptions_are_listed_by_status_in_your_groups(world: World) -> None:
    exception = an_exception(world, "a_operator")
    viewer = signed_in("a_viewer")
    assert f'id="exception-{exception.pk}"' in page(viewer, "/exceptions/")
    assert f'id="exception-{exception.pk}"' in page(viewer, "/exceptions/?status=active")
    assert f'id="exception-{exception.pk}"' not in page(viewer, "/exceptions/?status=revoked")
    assert "compensated by the firewall" in page(viewer, f"/exceptions/{exception.pk}/")
    assert f'id="exception-{exception.pk}"' not in page(signed_in("b_admin"), "/exceptions/")
    assert signed_in("b_admin").get(f"/exceptions/{exception.pk}/").status_code == 404
    # A viewer is offered nothing and refused if they post anyway.
    assert 'id="revoke-exception"' not in page(viewer, f"/exceptions/{exception.pk}/")
    viewer.post(f"/exceptions/{exception.pk}/revoke/")
    assert RiskException.objects.get(pk=exception.pk).status == "active"


def test_approval_by_another_admin_then_revocation_with_the_trail(
    world: World, settings: Any
) -> None:
    settings.EXCEPTION_APPROVAL = True
    exception = an_exception(world, "a_admin")
    url = f"/exceptions/{exception.pk}/"
    requester = signed_in("a_admin")
    assert 'id="approve-exception"' not in page(requester, url)  # not one's own
    refused = requester.post(f"{url}approve/", follow=True).content.decode()
    assert "someone other than its requester" in refused
    operator = signed_in("a_operator")
    assert 'id="approve-exception"' not in page(operator, url)
    operator.post(f"{url}approve/")
    assert RiskException.objects.get(pk=exception.pk).status == "pending"
    # A second admin approves.
    second = get_user_model().objects.create_user("a_admin2", password=PASSWORD)
    Membership.objects.create(user=second, group=world.a.group, role=Role.ADMIN)
    other = signed_in("a_admin2")
    assert 'id="approve-exception"' in page(other, url)
    assert other.post(f"{url}approve/").status_code == 302
    assert RiskException.objects.get(pk=exception.pk).status == "active"
    revoked = other.post(f"{url}revoke/", {"note": "fixed for real"}, follow=True)
    assert "revoked" in revoked.content.decode()
    assert RiskException.objects.get(pk=exception.pk).status == "revoked"
    trail = page(other, url)
    for action in ("created", "approved", "revoked", "fixed for real", "a_admin2"):
        assert action in trail
    assert 'id="revoke-exception"' not in trail


# -- host import ----------------------------------------------------------------------------------


def upload(client: Client, name: str, text: str, group: Group, **extra: Any) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    raw = text.encode(errors="surrogateescape")  # "\udcff" is the byte 0xff
    answer = client.post(
        "/manage/import/",
        {"group": group.pk, "file": SimpleUploadedFile(name, raw), **extra},
    )
    assert answer.status_code == 200, answer.status_code
    return answer.content.decode()


def test_import_needs_the_admin_role_and_offers_only_your_groups(world: World) -> None:
    assert signed_in("a_viewer").get("/manage/import/").status_code == 403
    body = page(signed_in("a_admin"), "/manage/import/")
    assert "group-a" in body and "group-b" not in body and world.b.credential.name not in body
    refused = upload(signed_in("a_admin"), "h.csv", "name,host\nx,192.0.2.1\n", world.b.group)
    assert "errorlist" in refused and not Host.objects.filter(name="x").exists()
    huge = "name,host\n" + "x,192.0.2.1\n" * (imports.MAX_BYTES // 12 + 1)
    assert "h.csv: larger than" in upload(signed_in("a_admin"), "h.csv", huge, world.a.group)
    binary = upload(signed_in("a_admin"), "h.csv", "name\n\udcff", world.a.group)
    assert "h.csv: not UTF-8 text (byte 5)" in binary  # a Latin-1 file, say


def test_a_csv_import_previews_then_creates_every_host(world: World) -> None:
    admin = signed_in("a_admin")
    text = "name,host,port\nweb-1,192.0.2.11,2222\nweb-2,192.0.2.12,\n"
    preview = upload(admin, "fleet.csv", text, world.a.group, credential=world.a.credential.pk)
    assert "Hosts to create in group-a: 2" in preview and "fleet.csv:3" in preview
    assert not Host.objects.filter(name__in=["web-1", "web-2"]).exists()  # a preview only
    content = preview.split('name="content" value="')[1].split('"')[0]
    created = admin.post(
        "/manage/import/",
        {"group": world.a.group.pk, "credential": world.a.credential.pk, "name": "fleet.csv",
         "content": content, "create": "1"},
    )  # fmt: skip
    assert created.status_code == 302
    hosts = {h.name: (h.port, h.group_id) for h in Host.objects.filter(name__startswith="web-")}
    assert hosts["web-1"] == (2222, world.a.group.pk) and hosts["web-2"] == (22, world.a.group.pk)


@pytest.mark.parametrize(
    ("name", "text", "problems"),
    [
        (
            "inv.ini",
            "[web]\nok-1 ansible_host=192.0.2.21\nbad-1 ansible_host=192.0.2.22 ansible_port=0\n",
            ["inv.ini:3: host bad-1: bad ansible_port"],
        ),
        (
            "hosts.csv",
            "name,host\nok-1,192.0.2.21\nbad-1,not an address!\n"
            "bad-2,169.254.169.254\nweb-a,192.0.2.9\n",
            [
                "hosts.csv:3: host bad-1: address",
                "hosts.csv:4: host bad-2: address",
                "hosts.csv:5: host web-a: name",
            ],
        ),
        (
            "inv.yml",
            "all:\n  children:\n    web:\n      hosts:\n        ok-1:\n"
            "          ansible_host: 192.0.2.21\n        bad-1:\n          ansible_host: 0.0.0.0\n",
            ["inv.yml:7: host bad-1: address"],
        ),
        ("inv.ini", "ok-1 ansible_password=hunter2\n", ["inv.ini:1: host ok-1: ansible_password"]),
        # A group admin cannot make the worker audit its own machine through an import.
        ("inv.ini", "ok-1\nme ansible_connection=local\n", ["inv.ini:2: host me: transport"]),
    ],
)
def test_a_bad_inventory_names_each_problem_by_file_and_line_and_creates_nothing(
    world: World, name: str, text: str, problems: list[str]
) -> None:
    credential = world.a.credential.pk
    body = upload(signed_in("a_admin"), name, text, world.a.group, credential=credential)
    assert 'id="import-problems"' in body and 'id="create-hosts"' not in body
    for problem in problems:
        assert problem in body, body.split('id="import-problems"')[1][:1500]
    assert "hunter2" not in body
    # All or nothing, even when the create is posted without a preview.
    import base64

    admin = signed_in("a_admin")
    admin.post(
        "/manage/import/",
        {"group": world.a.group.pk, "credential": credential, "name": name, "create": "1",
         "content": base64.b64encode(text.encode()).decode()},
    )  # fmt: skip
    assert not Host.objects.filter(name="ok-1").exists()


def test_an_ansible_yaml_inventory_is_imported_with_ports_and_pinned_keys(world: World) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    text = (
        "all:\n  vars:\n    ansible_user: root\n  children:\n    linux:\n      hosts:\n"
        f"        db-[1:2]:\n          ansible_port: 2200\n          bulwark_host_key: {key}\n"
        "    windows:\n      hosts:\n        win-1:\n          ansible_host: 192.0.2.31\n"
        "          ansible_connection: winrm\n"
    )
    # One credential logs in to every imported host: the WinRM host is refused with it.
    mixed = upload(
        signed_in("a_admin"), "inv.yml", text, world.a.group, credential=world.a.credential.pk
    )
    assert "host win-1: credential: a SSH password credential cannot log in over WinRM" in mixed
    text = text.split("    windows:")[0]
    text = text.replace("db-[1:2]:\n", "db-[1:2]:\n          ansible_host: 192.0.2.30\n")
    admin = signed_in("a_admin")
    preview = upload(admin, "inv.yml", text, world.a.group, credential=world.a.credential.pk)
    assert "Hosts to create in group-a: 2" in preview and "ansible_user" in preview  # not imported
    content = preview.split('name="content" value="')[1].split('"')[0]
    admin.post(
        "/manage/import/",
        {"group": world.a.group.pk, "credential": world.a.credential.pk, "name": "inv.yml",
         "content": content, "create": "1"},
    )  # fmt: skip
    db1 = Host.objects.get(name="db-1")
    assert (db1.port, db1.host_key, db1.credential_id) == (2200, key, world.a.credential.pk)
    assert (db1.address, Host.objects.get(name="db-2").group) == ("192.0.2.30", world.a.group)
