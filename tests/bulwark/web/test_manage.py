"""The operator's pages for hosts, credentials, schedules and alerts: the API's rules through
the same code (another group's row is a 404, a change needs the admin role, an acknowledgement
the operator role), the models' validation as form errors, secrets never shown."""

from __future__ import annotations

import pytest
from django.test import Client

from bulwark.audits.models import AlertEvent, Schedule
from bulwark.inventory.models import Credential, Group, Host, Membership, Role
from tests.bulwark.world import PASSWORD, World


def signed_in(name: str) -> Client:
    client = Client()
    assert client.login(username=name, password=PASSWORD)
    return client


@pytest.mark.parametrize("kind", ["hosts", "credentials", "schedules"])
def test_lists_show_your_groups_only(world: World, kind: str) -> None:
    body = signed_in("a_viewer").get(f"/manage/{kind}/").content.decode()
    assert "local-a" in body or "group-a" in body or world.a.credential.name in body
    assert "local-b" not in body and world.b.credential.name not in body
    assert f'id="add-{kind}"' not in body  # a viewer administers no group


def test_an_admin_adds_a_host_with_the_models_validation(world: World) -> None:
    client = signed_in("a_admin")
    form = client.get("/manage/hosts/new/").content.decode()
    assert world.b.group.name not in form and world.b.credential.name not in form
    bad = client.post(
        "/manage/hosts/new/",
        {"name": "web-9", "group": world.a.group.pk, "transport": "ssh",
         "address": "not an address!", "port": 22, "credential": world.a.credential.pk,
         "winrm_auth": "ntlm"},
    )  # fmt: skip
    assert bad.status_code == 200 and "address" in bad.content.decode()
    assert not Host.objects.filter(name="web-9").exists()
    good = client.post(
        "/manage/hosts/new/",
        {"name": "web-9", "group": world.a.group.pk, "transport": "ssh", "address": "192.0.2.9",
         "port": 22, "credential": world.a.credential.pk, "winrm_auth": "ntlm"},
    )  # fmt: skip
    assert good.status_code == 302, good.content.decode()[:2000]
    assert Host.objects.get(name="web-9").group == world.a.group


def test_another_groups_row_is_a_404_and_a_non_admin_gets_a_403(world: World) -> None:
    assert signed_in("a_admin").get(f"/manage/hosts/{world.b.host.pk}/").status_code == 404
    operator = signed_in("a_operator")
    assert operator.get(f"/manage/hosts/{world.a.host.pk}/").status_code == 403
    assert operator.post(f"/manage/hosts/{world.a.host.pk}/delete/").status_code == 403
    assert Host.objects.filter(pk=world.a.host.pk).exists()


def test_secrets_are_write_only(world: World) -> None:
    client = signed_in("a_admin")
    body = client.get(f"/manage/credentials/{world.a.credential.pk}/").content.decode()
    assert all(secret not in body for secret in world.a.secrets)
    response = client.post(
        f"/manage/credentials/{world.a.credential.pk}/",
        {"group": world.a.group.pk, "name": "renamed", "kind": world.a.credential.kind,
         "username": "root", "sudo_mode": "none"},
    )  # fmt: skip
    assert response.status_code == 302
    kept = Credential.objects.get(pk=world.a.credential.pk)
    assert kept.name == "renamed" and kept.secret  # blank secret: the stored one is kept


def test_a_credential_in_use_is_not_deleted_and_says_why(world: World) -> None:
    client = signed_in("a_admin")
    response = client.post(f"/manage/credentials/{world.a.credential.pk}/delete/", follow=True)
    assert "is still used by" in response.content.decode()
    assert Credential.objects.filter(pk=world.a.credential.pk).exists()


def test_schedules_show_their_next_and_last_run(world: World) -> None:
    body = signed_in("a_admin").get("/manage/schedules/").content.decode()
    assert body.count('class="next-run"') == 2 and "never" in body
    response = signed_in("a_admin").post(
        "/manage/schedules/new/",
        {"group": world.a.group.pk, "interval_days": 1, "command_timeout": 60, "enabled": "on"},
    )
    assert response.status_code == 302
    assert Schedule.objects.filter(group=world.a.group, interval_days=1).exists()


def test_alerts_filter_and_acknowledge_with_the_operator_role(world: World) -> None:
    viewer = signed_in("a_viewer")
    body = viewer.get("/alerts/?acknowledged=false").content.decode()
    assert world.a.alert.message in body and world.b.alert.message not in body
    assert f'id="ack-{world.a.alert.pk}"' not in body  # viewers do not acknowledge
    assert viewer.post(f"/alerts/{world.a.alert.pk}/acknowledge/").status_code == 403
    operator = signed_in("a_operator")
    assert operator.post(f"/alerts/{world.b.alert.pk}/acknowledge/").status_code == 404
    response = operator.post(f"/alerts/{world.a.alert.pk}/acknowledge/", follow=True)
    assert "acknowledged" in response.content.decode()
    assert AlertEvent.objects.get(pk=world.a.alert.pk).acknowledged_at is not None
    assert world.a.alert.message not in operator.get("/alerts/?acknowledged=false").content.decode()


def test_the_nav_links_every_page(world: World) -> None:
    body = signed_in("a_admin").get("/").content.decode()
    for link in ('id="nav-alerts"', 'id="nav-manage"'):
        assert link in body
    assert 'id="nav-admin"' not in body
    assert 'id="nav-admin"' in signed_in("root").get("/").content.decode()


def test_the_alert_filters_are_picked_by_name_among_what_the_user_sees(world: World) -> None:
    viewer = signed_in("a_viewer")
    form = viewer.get("/alerts/").context["filterset"].form
    host_choices = dict(form.fields["host"].widget.choices)
    assert host_choices[world.a.host.pk].startswith(world.a.host.name)
    assert world.b.host.pk not in host_choices  # another group's host is not even named
    group_choices = dict(form.fields["group"].widget.choices)
    assert world.a.group.pk in group_choices and world.b.group.pk not in group_choices
    assert [value for value, _ in form.fields["acknowledged"].widget.choices] == [
        "",
        "true",
        "false",
    ]
    body = viewer.get("/alerts/").content.decode()
    assert 'type="date" name="date_after"' in body and 'type="date" name="date_before"' in body
    assert "date_after, date_before" not in body  # parameter names are not labels
    # The values stay the API's: a host picked by id narrows the list as ?host= does.
    alerted = world.a.alert.host_id
    picked = viewer.get(f"/alerts/?host={alerted}&acknowledged=").content.decode()
    assert world.a.alert.message in picked
    other = next(pk for pk in host_choices if pk and pk != alerted)
    assert world.a.alert.message not in viewer.get(f"/alerts/?host={other}").content.decode()


def test_a_large_fleet_s_alert_filter_takes_the_host_s_id_without_listing_hosts(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulwark.web import host_picker

    monkeypatch.setattr(host_picker, "LIST_LIMIT", 0)
    viewer = signed_in("a_viewer")
    body = viewer.get("/alerts/").content.decode()
    assert '<select name="host"' not in body and 'type="number" name="host"' in body
    alerted = world.a.alert.host_id
    picked = viewer.get(f"/alerts/?host={alerted}&acknowledged=").content.decode()
    assert world.a.alert.message in picked


def test_a_large_fleet_s_forms_take_a_host_by_name(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond host_picker.LIST_LIMIT hosts the user administers, a schedule's host (and a
    credential's jump host) is typed: "name", or "name (group)" where names repeat."""
    from bulwark.web import host_picker

    monkeypatch.setattr(host_picker, "LIST_LIMIT", 2)  # a_admin administers 3 hosts below
    other = Group.objects.create(name="group-c")
    Membership.objects.create(user=world.users["a_admin"], group=other, role=Role.ADMIN)
    twin = Host.objects.create(name="web-a", address="192.0.2.7", group=other)
    client = signed_in("a_admin")
    form = client.get("/manage/schedules/new/").content.decode()
    assert '<select name="host"' not in form and 'type="text" name="host"' in form
    assert "web-b" not in form and "local-a" not in form  # no host is listed
    jump = client.get(f"/manage/credentials/{world.a.credential.pk}/").content.decode()
    assert 'type="text" name="jump_host"' in jump

    def schedule(host: str) -> str:
        response = client.post(
            "/manage/schedules/new/",
            {"host": host, "interval_days": 3, "command_timeout": 60, "enabled": "on"},
        )
        return response.content.decode() if response.status_code == 200 else ""

    assert "no host you may choose here is named web-b" in schedule("web-b")  # another group's
    assert "several hosts are named web-a" in schedule("web-a")
    assert not Schedule.objects.filter(interval_days=3).exists()
    assert schedule("local-a") == "" and schedule(" web-a (group-c) ") == ""
    made = Schedule.objects.filter(interval_days=3).order_by("pk")
    assert [s.host for s in made] == [world.a.local, twin]
    # The chosen host reads back as "name (group)", which saves unchanged.
    edit = client.get(f"/manage/schedules/{made[1].pk}/").content.decode()
    assert 'value="web-a (group-c)"' in edit
    # Where the hosts are few again, the list comes back.
    monkeypatch.setattr(host_picker, "LIST_LIMIT", 3)
    assert '<select name="host"' in client.get("/manage/schedules/new/").content.decode()


def test_lists_go_by_pages_and_narrow_by_name(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bulwark.web.views import manage

    monkeypatch.setattr(manage, "PAGE_SIZE", 1)
    client = signed_in("a_admin")
    first = client.get("/manage/hosts/").content.decode()
    assert "2 rows" in first and 'id="next-page"' in first and "web-a" in first
    second = client.get("/manage/hosts/?page=2").content.decode()
    assert "local-a" in second and "web-a" not in second and 'id="previous-page"' in second
    narrowed = client.get("/manage/hosts/?q=LOCAL").content.decode()
    assert "local-a" in narrowed and "web-a" not in narrowed and 'id="next-page"' not in narrowed
    assert "None match." in client.get("/manage/hosts/?q=nothing-like-it").content.decode()
    schedules = client.get("/manage/schedules/?q=web-a").content.decode()  # by its host's name
    assert schedules.count('class="next-run"') == 1
    assert (
        client.get("/manage/schedules/?q=group-a").content.decode().count('class="next-run"') == 1
    )
    assert "web-b" not in client.get("/manage/hosts/?q=web").content.decode()  # still scoped
