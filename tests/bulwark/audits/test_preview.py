"""Policy preview on kept facts, against three real sshd test hosts: the same verdicts as a
real audit with the changed policy for every check whose facts were collected, "needs
collection" for the others; superusers only; the kept facts are encrypted at rest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from bulwark.audits import services
from bulwark.audits.models import Assignment, Audit, AuditStatus, KeptFacts, Result
from bulwark.inventory.models import Credential, Group, Host, Membership, Role
from bulwark.policies.models import Policy
from bulwark.policies.services import import_policy_texts
from lab.harness import HostSpec, TestHost, TestHosts

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)
ROOT = Path(__file__).resolve().parents[3]
SPECS = [
    HostSpec("pv-default"),
    HostSpec(
        "pv-loose",
        files={"/etc/ssh/sshd_config": "X11Forwarding yes\nMaxAuthTries 10\nLogLevel QUIET\n"},
        modes={"/etc/ssh/sshd_config": 0o644},
    ),
    HostSpec(
        "pv-tight",
        files={"/etc/ssh/sshd_config": "X11Forwarding no\nMaxAuthTries 3\nLogLevel VERBOSE\n"},
        modes={"/etc/ssh/sshd_config": 0o600},
    ),
]
NEW_CHECK = """
  - id: bwk-sshd-pv-new
    title: "A check reading a file no audit collected"
    compliance:
      - cis_csc_v8: ["4.1"]
    condition: all
    rules:
      - 'f:/etc/bwk-preview-never-collected.conf'
"""


@pytest.fixture(scope="module")
def started(test_hosts: TestHosts) -> Iterator[list[TestHost]]:
    hosts = [test_hosts.start(spec) for spec in SPECS]
    yield hosts
    for host in hosts:
        host.stop()


def _changed_policy() -> str:
    # The next version of the CIS OpenSSH checks, for these Debian hosts too: its requirement
    # that leaves Debian to bulwark_debian12 is dropped.
    text = (ROOT / "rulesets/linux/bulwark_openssh_cis.yml").read_text()
    text = text.replace("id: bulwark_openssh_cis\n", "id: bulwark_openssh_next\n", 1)
    text = text.replace("file: bulwark_openssh_cis.yml", "file: bulwark_openssh_next.yml", 1)
    text = "\n".join(line for line in text.split("\n") if "/etc/os-release" not in line)
    # A changed check: the configuration must now be exactly 600 (the tight host only).
    text = text.replace(
        r"r:^/etc/ssh/sshd_config [0-6]00 0 0$", r"r:^/etc/ssh/sshd_config 600 0 0$"
    )
    text = re.sub(r"id: (bwk-sshd-\d+)", r"id: \1n", text)  # ids of its own
    return text.rstrip("\n") + "\n" + NEW_CHECK


def _audit(host: Host) -> Audit:
    audit = Audit.objects.create(host=host)
    services.run_audit(audit.pk)
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DONE, audit.error_reason
    return audit


@pytest.mark.django_db(transaction=True)
def test_preview_gives_an_audits_verdicts_without_touching_hosts(
    catalogue: None, started: list[TestHost], monkeypatch: pytest.MonkeyPatch
) -> None:
    group = Group.objects.create(name="preview-lab")
    hosts = []
    for target in started:
        credential = Credential.objects.create(
            group=group,
            name=f"key-{target.name}",
            kind=Credential.Kind.SSH_KEY,
            username="root",
            secret=target.client_key,
        )
        host = Host(
            name=target.name,
            address=target.address,
            port=target.port,
            group=group,
            credential=credential,
            host_key=target.host_key_line,
        )
        host.full_clean()
        host.save()
        hosts.append(host)
        _audit(host)
    kept = KeptFacts.objects.filter(host__in=hosts)
    assert kept.count() == 3
    assert all(b"PermitRootLogin" not in row.token.encode() for row in kept)  # encrypted

    users = get_user_model().objects
    root = users.create_superuser("root", password="x-Pass-1")
    admin = users.create_user("lab-admin", password="x-Pass-1")
    Membership.objects.create(user=admin, group=group, role=Role.ADMIN)
    body = {"files": [{"name": "bulwark_openssh_next.yml", "content": _changed_policy()}]}
    as_admin = APIClient()
    as_admin.force_authenticate(admin)
    assert as_admin.post("/api/policies/preview/", body, format="json").status_code == 403

    opened: list[str] = []
    real_open = services.open_connection
    monkeypatch.setattr(
        services, "open_connection", lambda h: opened.append(h.name) or real_open(h)
    )
    client = APIClient()
    client.force_authenticate(root)
    response = client.post(f"/api/policies/preview/?group={group.pk}", body, format="json")
    assert response.status_code == 200, response.content[:500]
    assert opened == []  # the preview contacted no host
    previews = {p["name"]: p for p in response.json()["hosts"]}
    assert set(previews) == {h.name for h in hosts}

    # The real thing: import the changed policy, run only it on the lab, compare.
    import_policy_texts([("bulwark_openssh_next.yml", _changed_policy())])
    Assignment.objects.create(
        policy=Policy.objects.get(policy_id="bulwark_openssh_next"), group=group, levels=[1, 2]
    )
    compared = 0
    verdict_sets = []
    for host in hosts:
        audit = _audit(host)
        real = dict(
            Result.objects.filter(audit=audit).values_list("policy_check__check_id", "status")
        )
        previewed = {c["check_id"]: c["status"] for c in previews[host.name]["checks"]}
        assert previewed.pop("bwk-sshd-pv-new") == "needs_collection"
        assert real["bwk-sshd-pv-new"] == "failed"  # the real audit collected it
        for check_id, status in previewed.items():
            if status == "needs_collection":
                continue
            assert real[check_id] == status, (host.name, check_id)
            compared += 1
        verdict_sets.append(tuple(sorted(previewed.items())))
    # Nearly every check was comparable (all but the new one and at most two more per host).
    checks = len(re.findall(r"^  - id: ", _changed_policy(), re.M)) - 1
    assert compared >= 3 * (checks - 2) and checks >= 10
    assert len(set(verdict_sets)) == 3  # the hosts differ: the comparison means something
    assert len(opened) == 3  # only the real audits connected
