"""The admin: credential secrets are write-only, and "audit now" starts audits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from bulwark.audits.models import Audit, AuditStatus
from bulwark.inventory.models import Credential, Group, Host

PASSWORD = "admin-page-Secret-42"


@pytest.mark.django_db
def test_the_credential_pages_never_show_the_secret(
    admin_client: Client, make_credential: Callable[..., Credential]
) -> None:
    credential = make_credential(secret=PASSWORD, sudo_mode="password", sudo_password="sudo-pw-9")
    token = credential.secret.token
    for url in (
        "/admin/inventory/credential/",
        f"/admin/inventory/credential/{credential.pk}/change/",
        f"/admin/inventory/credential/{credential.pk}/history/",
    ):
        page = admin_client.get(url).content.decode()
        for secret in (PASSWORD, token, "sudo-pw-9"):
            assert secret not in page, url


@pytest.mark.django_db
def test_a_blank_secret_keeps_the_stored_one_and_a_new_one_replaces_it(
    admin_client: Client, make_credential: Callable[..., Credential]
) -> None:
    credential = make_credential(secret=PASSWORD)
    url = f"/admin/inventory/credential/{credential.pk}/change/"
    form = {"name": "renamed", "kind": "ssh-password", "username": "ops", "sudo_mode": "none"}
    form["group"] = credential.group_id
    response = admin_client.post(url, {**form, "new_secret": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    credential.refresh_from_db()
    assert (credential.name, credential.secret.reveal()) == ("renamed", PASSWORD)
    admin_client.post(url, {**form, "new_secret": "brand-new-pw"})
    credential.refresh_from_db()
    assert credential.secret.reveal() == "brand-new-pw"


@pytest.mark.django_db
def test_adding_a_credential_without_a_secret_names_the_field(
    admin_client: Client, group: Group
) -> None:
    form = {"name": "c", "kind": "ssh-key", "username": "root", "sudo_mode": "none"}
    form["group"] = group.pk
    response = admin_client.post("/admin/inventory/credential/add/", form)
    assert response.status_code == 200
    assert "a credential needs its private key or password" in response.content.decode()
    assert not Credential.objects.exists()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_audit_now_from_the_host_list_audits_the_host(
    admin_client: Client, machine_policy: None, local_host: Host
) -> None:
    response = admin_client.post(
        "/admin/inventory/host/",
        {"action": "audit_hosts_now", "_selected_action": [local_host.pk]},
    )
    assert response.status_code == 302
    audit = Audit.objects.get(host=local_host)
    assert audit.status == AuditStatus.DONE  # tasks run in-process on commit here


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_audit_now_on_a_group_audits_each_of_its_hosts(
    admin_client: Client, machine_policy: None, local_host: Host, group: Group
) -> None:
    admin_client.post(
        "/admin/inventory/group/", {"action": "audit_groups_now", "_selected_action": [group.pk]}
    )
    assert Audit.objects.filter(host__group=group, status=AuditStatus.DONE).count() == 1
