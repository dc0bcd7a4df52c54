"""The pages through Django's test client: content, filters, escaping, audit now, and group
isolation on every page."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from bulwark.audits.models import Audit, AuditStatus
from bulwark.web.models import Widget
from tests.bulwark.reports.fleet import ACCOUNTS, HOSTILE, SECURE, Fleet


def login(fleet: Fleet, name: str) -> Client:
    client = Client()
    client.force_login(fleet.users[name])
    return client


def page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, url
    return response.content.decode()


def urls(fleet: Fleet, host: str) -> list[str]:
    audit = fleet.audits[host]
    result = audit.results.order_by("pk").first()
    assert result is not None
    return [
        f"/hosts/{fleet.hosts[host].pk}/",
        f"/audits/{audit.pk}/",
        f"/audits/{audit.pk}/results/{result.pk}/",
    ]


def test_signed_out_pages_go_to_login(fleet: Fleet) -> None:
    for url in ["/", "/hosts/", "/reports/", *urls(fleet, "web-1")]:
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_page_signs_in(fleet: Fleet) -> None:
    client = Client()
    assert "Sign in" in page(client, "/login/")
    response = client.post(
        "/login/", {"username": "alice", "password": "correct-horse-battery-staple"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_dashboard_shows_the_fleet(fleet: Fleet) -> None:
    body = page(login(fleet, "alice"), f"/?group={fleet.groups['db'].pk}")
    assert "63.10" in body  # db-1's score, the group's average
    assert ACCOUNTS in body and "23 %" in body and "85 %" in body
    assert "vault" not in body


def test_host_list_filters(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    body = page(client, "/hosts/")
    assert "web-1" in body and "db-1" in body and "web-new" not in body and "vault-1" not in body
    assert "web-new" in page(client, "/hosts/?all=on")
    ranged = page(client, "/hosts/?score_min=80&score_max=85")
    assert "web-1" in ranged and "db-1" not in ranged and "evil" not in ranged
    grouped = page(client, f"/hosts/?group={fleet.groups['db'].pk}")
    assert "db-1" in grouped and "web-1" not in grouped
    named = page(client, "/hosts/?name=192.0.2.21")
    assert "db-1" in named and "web-1" not in named
    # A group alice does not see is refused like one that does not exist.
    foreign = page(client, f"/hosts/?group={fleet.groups['vault'].pk}&all=on", status=400)
    assert "vault-1" not in foreign


def test_host_page_has_the_score_box_and_history(fleet: Fleet) -> None:
    body = page(login(fleet, "alice"), f"/hosts/{fleet.hosts['web-1'].pk}/")
    assert "83.33" in body and "<svg" in body and "Audit now" in body
    # alice only views db: no button there.
    assert "Audit now" not in page(login(fleet, "alice"), f"/hosts/{fleet.hosts['db-1'].pk}/")


def test_audit_page_category_summary_and_filters(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    audit = fleet.audits["db-1"]
    body = page(client, f"/audits/{audit.pk}/")
    assert "23 %" in body and "85 %" in body and "204 results" in body
    body = page(client, f"/audits/{audit.pk}/?category={SECURE}&status=failed")
    assert "16 results" in body and "SEC-093" in body and "SEC-092" not in body
    assert '"results-count">1 result<' in page(client, f"/audits/{audit.pk}/?q=ACC-015")


def test_result_detail_shows_the_check_and_escapes_evidence(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    body = page(client, urls(fleet, HOSTILE)[2])
    assert "What ACC-001 looks at." in body and "How to fix ACC-001." in body
    assert "pci_dss" in body and "8.2.1" in body
    assert "<img src=x" not in body and html.escape("<img src=x onerror=alert(2)>") in body


def test_hostile_host_names_are_escaped_everywhere(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    for url in ["/", "/hosts/", *urls(fleet, HOSTILE)]:
        body = page(client, url)
        assert "<script>alert(1)" not in body, url


@pytest.mark.parametrize("name", ["alice", "carol"])
def test_isolation_on_every_page(fleet: Fleet, name: str) -> None:
    client = login(fleet, name)
    for url in urls(fleet, "vault-1"):
        page(client, url, status=404)
    for url in ["/", "/hosts/?all=on", "/reports/"]:
        assert "vault" not in page(client, url)
    host = fleet.hosts["vault-1"].pk
    assert client.post(f"/hosts/{host}/audit/").status_code == 404


def test_audit_now_for_operators_only(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    web = fleet.hosts["web-1"]
    assert client.get(f"/hosts/{web.pk}/audit/").status_code == 405
    response = client.post(f"/hosts/{web.pk}/audit/")
    assert response.status_code == 302
    assert Audit.objects.filter(host=web, status=AuditStatus.QUEUED).count() == 1
    assert client.post(f"/hosts/{fleet.hosts['db-1'].pk}/audit/").status_code == 403


def test_widgets_add_edit_delete_are_per_user(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    response = client.post(
        "/widgets/new/",
        {
            "title": "Worst of db",
            "background": "#ffeeaa",
            "data_type": "worst_hosts",
            "group": fleet.groups["db"].pk,
            "days": 30,
            "limit": 5,
        },
    )
    assert response.status_code == 302
    widget = Widget.objects.get(user=fleet.users["alice"])
    body = page(client, "/")
    assert "Worst of db" in body and "#ffeeaa" in body and "db-1" in body
    client.post(f"/widgets/{widget.pk}/", {**_fields(widget), "title": "Renamed"})
    assert "Renamed" in page(client, "/")
    other = login(fleet, "bob")
    assert other.get(f"/widgets/{widget.pk}/").status_code == 404
    assert other.post(f"/widgets/{widget.pk}/delete/").status_code == 404
    assert "Renamed" not in page(other, "/")
    client.post(f"/widgets/{widget.pk}/delete/")
    assert not Widget.objects.exists()


def test_a_widget_cannot_target_a_foreign_group(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    response = client.post(
        "/widgets/new/",
        {
            "title": "peek",
            "background": "#ffffff",
            "data_type": "worst_hosts",
            "group": fleet.groups["vault"].pk,
            "days": 30,
            "limit": 5,
        },
    )
    assert response.status_code == 200 and not Widget.objects.exists()
    # A widget that kept a group its user lost shows nothing of it.
    Widget.objects.create(
        user=fleet.users["alice"],
        title="stale",
        data_type="worst_hosts",
        group=fleet.groups["vault"],
    )
    assert "vault-1" not in page(client, "/")


@pytest.mark.parametrize("data_type", [t for t, _ in Widget.DataType.choices])
def test_every_widget_type_renders(fleet: Fleet, data_type: str) -> None:
    Widget.objects.create(
        user=fleet.users["alice"], title=f"w-{data_type}", data_type=data_type, category=ACCOUNTS
    )
    body = page(login(fleet, "alice"), "/")
    assert f"w-{data_type}" in body and "vault" not in body


def test_report_picker_redirects_to_the_download(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    response = client.get("/reports/?type=scoring&format=pdf&limit=10")
    assert response.status_code == 302
    assert response["Location"].startswith("/api/reports/scoring.pdf?")


def _fields(widget: Widget) -> dict[str, object]:
    return {
        "title": widget.title,
        "background": widget.background,
        "data_type": widget.data_type,
        "group": widget.group_id or "",
        "days": widget.days,
        "limit": widget.limit,
        "category": widget.category,
    }


def test_audit_page_links_to_every_export_and_they_download(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    audit = fleet.audits["db-1"]
    body = page(client, f"/audits/{audit.pk}/")
    for kind in ("html", "junit", "sarif", "oscal"):
        url = f"/api/audits/{audit.pk}/export.{kind}"
        assert f'href="{url}"' in body
        # The session that shows the page also downloads the export.
        assert client.get(url).status_code == 200, url
    assert f'href="/api/audits/{audit.pk}/export.oscal?document=plan"' in body


def test_host_page_links_to_its_latest_exports_and_fix_scripts(fleet: Fleet) -> None:
    client = login(fleet, "alice")
    host = fleet.hosts["db-1"]
    body = page(client, f"/hosts/{host.pk}/")
    for url in (
        f"/api/hosts/{host.pk}/export.sarif",
        f"/api/hosts/{host.pk}/remediation.sh",
        f"/api/hosts/{host.pk}/remediation.yml",
    ):
        assert f'href="{url}"' in body
        assert client.get(url).status_code == 200, url
