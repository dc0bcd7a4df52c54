"""Two groups, A and B, each with a credential, hosts, a finished audit with results, an alert,
schedules and members: the world the isolation tests of the API and the admin look into."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from bulwark.audits.models import AlertEvent, Audit, Result, Schedule, ScoreSample
from bulwark.inventory.models import Credential, Group, Host, Membership, Role
from bulwark.policies.services import import_policy_texts
from tests.bulwark.audits.outcomes import audit_with, make_outcome

PASSWORD = "pass-Word"  # of every user here

TINY_POLICY = """\
policy:
  id: tiny_policy
  file: tiny_policy.yml
  name: "A tiny policy for API tests"
  description: "Three checks on files every Linux machine has."
requirements:
  title: "Linux"
  description: "Linux"
  condition: all
  rules:
    - 'f:/proc/sys/kernel/ostype -> r:^Linux$'
checks:
  - id: 9001
    title: "Ensure /etc/passwd exists"
    compliance:
      - cis_csc_v8: ["3.3"]
    condition: all
    rules:
      - 'f:/etc/passwd'
  - id: 9002
    title: "Ensure /etc/group exists"
    compliance:
      - cis_csc_v8: ["5.1"]
    condition: all
    rules:
      - 'f:/etc/group'
  - id: 9003
    title: "Ensure no file named /etc/never-there-9003 exists"
    compliance:
      - cis_csc_v8: ["4.1"]
    condition: none
    rules:
      - 'f:/etc/never-there-9003'
"""


@dataclass
class Side:
    """Everything of one group."""

    group: Group
    credential: Credential
    host: Host
    local: Host
    audit: Audit
    result: Result
    sample: ScoreSample
    alert: AlertEvent
    host_schedule: Schedule
    group_schedule: Schedule
    membership: Membership
    secrets: list[str] = field(default_factory=list)


@dataclass
class World:
    a: Side
    b: Side
    users: dict[str, Any]

    def secrets(self) -> list[str]:
        return [*self.a.secrets, *self.b.secrets]


def tiny_catalogue() -> None:
    import_policy_texts([("tiny_policy.yml", TINY_POLICY)])


def _side(name: str, admin: Any) -> Side:
    group = Group.objects.create(name=f"group-{name}")
    secret, sudo = f"secret-of-{name}-Xq7!", f"sudo-of-{name}-Zr9!"
    credential = Credential(
        group=group,
        name=f"cred-{name}",
        kind=Credential.Kind.SSH_PASSWORD,
        username="auditor",
        secret=secret,
        sudo_mode=Credential.Sudo.PASSWORD,
        sudo_password=sudo,
    )
    credential.full_clean()
    credential.save()
    host = Host.objects.create(
        name=f"web-{name}", address="127.0.0.1", port=2222, group=group, credential=credential
    )
    local = Host.objects.create(
        name=f"local-{name}", address="localhost", transport="local", group=group
    )
    audit = audit_with(host, make_outcome(failed=["9002"]))
    # A second audit that regresses a check: an alert.
    audit_with(local, make_outcome())
    audit = audit_with(local, make_outcome(failed=["9001"]))
    alert = AlertEvent.objects.filter(host=local).first()
    assert alert is not None
    membership = Membership.objects.create(user=admin, group=group, role=Role.ADMIN)
    return Side(
        group=group,
        credential=credential,
        host=host,
        local=local,
        audit=audit,
        result=Result.objects.filter(audit=audit).first(),  # type: ignore[arg-type]
        sample=ScoreSample.objects.get(audit=audit),
        alert=alert,
        host_schedule=Schedule.objects.create(host=host),
        group_schedule=Schedule.objects.create(group=group),
        membership=membership,
        secrets=[secret, sudo, credential.secret.token, credential.sudo_password.token],
    )


def build_world() -> World:
    """Users: a_viewer, a_operator, a_admin (group A), b_admin (group B), root (superuser);
    every one is staff and signs in with PASSWORD."""
    tiny_catalogue()
    users = get_user_model().objects
    made = {
        name: users.create_user(name, password=PASSWORD, is_staff=True)
        for name in ("a_viewer", "a_operator", "a_admin", "b_admin")
    }
    made["root"] = users.create_superuser("root", password=PASSWORD)
    a, b = _side("a", made["a_admin"]), _side("b", made["b_admin"])
    Membership.objects.create(user=made["a_viewer"], group=a.group, role=Role.VIEWER)
    Membership.objects.create(user=made["a_operator"], group=a.group, role=Role.OPERATOR)
    return World(a, b, made)
