"""Targeting on the platform: assignments pick policies, levels and profiles; inapplicable
policies are one verdict each, never per-check rows; the data migration of older audits."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from bulwark.audits import services
from bulwark.audits.models import Assignment, Audit, AuditStatus, PolicyVerdict, Result
from bulwark.audits.targeting import selection_for
from bulwark.inventory.models import Group, Host
from bulwark.policies.models import Check, Policy

# bulwark_openssh_cis leaves Debian 12 to bulwark_debian12 (one finding per CIS item).
LINUX_FOREIGN = ("bulwark_openssh_cis", "bulwark_ubuntu2204", "bulwark_ubuntu2404")
WINDOWS = ("bulwark_win11_enterprise", "bulwark_win2022_member")


def _audit(host: Host) -> Audit:
    audit = Audit.objects.create(host=host)
    services.run_audit(audit.pk)
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DONE, audit.error_reason
    return audit


@pytest.mark.slow  # a whole-machine audit (every local filesystem scanned): not for make test-fast
@pytest.mark.django_db
def test_a_debian_host_stores_one_not_applicable_line_per_foreign_policy(
    catalogue: None, local_host: Host
) -> None:
    audit = _audit(local_host)
    stored = set(
        Result.objects.filter(audit=audit).values_list("policy_check__policy__policy_id", flat=True)
    )
    assert stored.isdisjoint(LINUX_FOREIGN + WINDOWS)
    verdicts = {
        v.policy.policy_id: v
        for v in PolicyVerdict.objects.filter(audit=audit).select_related("policy")
    }
    for policy_id in LINUX_FOREIGN:
        assert verdicts[policy_id].status == PolicyVerdict.Status.NOT_APPLICABLE
        assert verdicts[policy_id].reason.startswith("requirements not met")
    for policy_id in WINDOWS:
        assert verdicts[policy_id].status == PolicyVerdict.Status.NOT_APPLICABLE
        assert verdicts[policy_id].reason.startswith("platform:")
    assert verdicts["bulwark_debian12"].status == PolicyVerdict.Status.APPLICABLE
    # The counts are those of the stored rows: nothing counted that is not there.
    assert (
        audit.passed + audit.failed + audit.not_applicable
        == Result.objects.filter(audit=audit).count()
    )
    # The audit page shows one line per inapplicable policy, with its reason.
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="x-Pass-1"))
    page = client.get(f"/audits/{audit.pk}/").content.decode()
    assert page.count("not applicable: requirements not met") == len(LINUX_FOREIGN)
    assert page.count("not applicable: platform:") == len(WINDOWS)


@pytest.mark.slow  # a whole-machine audit (every local filesystem scanned): not for make test-fast
@pytest.mark.django_db
def test_a_level_1_group_has_no_level_2_check_in_results_or_scores(
    catalogue: None, local_host: Host
) -> None:
    debian = Policy.objects.get(policy_id="bulwark_debian12")
    assert Check.objects.filter(policy=debian, level=2).exists()
    Assignment.objects.create(policy=debian, group=local_host.group, levels=[1])
    audit = _audit(local_host)
    levels = set(Result.objects.filter(audit=audit).values_list("policy_check__level", flat=True))
    assert levels == {1}
    policies = set(
        Result.objects.filter(audit=audit).values_list("policy_check__policy__policy_id", flat=True)
    )
    assert policies == {"bulwark_debian12"}  # the group's assignments name only this policy
    in_scope = Check.objects.filter(policy=debian, level=1, active=True).count()
    assert audit.passed + audit.failed + audit.not_applicable == in_scope
    local_host.refresh_from_db()
    assert local_host.latest_passed + local_host.latest_failed <= in_scope


@pytest.mark.django_db
def test_defaults_apply_to_groups_without_assignments_and_hosts_override(
    catalogue: None, local_host: Host
) -> None:
    debian = Policy.objects.get(policy_id="bulwark_debian12")
    openssh = Policy.objects.get(policy_id="bulwark_openssh")
    # No assignment anywhere: every enabled policy, every level.
    everything = selection_for(local_host)
    assert set(everything) == set(
        Policy.objects.filter(enabled=True).values_list("policy_id", flat=True)
    )
    Assignment.objects.create(policy=debian, levels=[1])  # a default
    assert set(selection_for(local_host)) == {"bulwark_debian12"}
    other = Group.objects.create(name="desktops")
    Assignment.objects.create(policy=openssh, group=other, levels=[1, 2])
    local_host.group = other
    assert set(selection_for(local_host)) == {"bulwark_openssh"}  # its group's, not the default
    Assignment.objects.create(policy=openssh, host=local_host, levels=[2])
    assert selection_for(local_host)["bulwark_openssh"].levels == frozenset({2})
    Policy.objects.filter(pk=openssh.pk).update(enabled=False)
    assert selection_for(local_host) == {}


@pytest.mark.django_db
def test_assignment_validation_names_the_field(catalogue: None, group: Group) -> None:
    debian = Policy.objects.get(policy_id="bulwark_debian12")
    with pytest.raises(ValidationError) as levels:
        Assignment(policy=debian, group=group, levels=[3]).full_clean()
    assert "levels" in levels.value.message_dict
    openssh = Policy.objects.get(policy_id="bulwark_openssh")  # no CIS profiles of its own
    with pytest.raises(ValidationError) as profile:
        Assignment(policy=openssh, group=group, levels=[1], profile="workstation").full_clean()
    assert "has no workstation profile" in str(profile.value.message_dict["profile"])


@pytest.mark.django_db
def test_a_host_with_no_enabled_policy_assigned_fails_with_the_reason(
    catalogue: None, local_host: Host
) -> None:
    debian = Policy.objects.get(policy_id="bulwark_debian12")
    Assignment.objects.create(policy=debian, group=local_host.group, levels=[1])
    Policy.objects.filter(pk=debian.pk).update(enabled=False)
    audit = Audit.objects.create(host=local_host)
    services.run_audit(audit.pk)
    audit.refresh_from_db()
    assert audit.status == AuditStatus.ERROR
    assert "no enabled policy is assigned" in audit.error_reason


@pytest.mark.django_db
@pytest.mark.parametrize(
    "policy_id", ["bulwark_debian12", "bulwark_ubuntu2204", "bulwark_ubuntu2404"]
)
def test_a_level_1_server_assignment_is_accepted_and_selects_no_level_2_or_workstation_check(
    catalogue: None, group: Group, policy_id: str
) -> None:
    from bulwark.audits.rescoping_scope import in_scope
    from bulwark.policies.services import enabled_definitions
    from workers.engine.selection import narrow

    policy = Policy.objects.get(policy_id=policy_id)
    assignment = Assignment(policy=policy, group=group, levels=[1], profile="server")
    assignment.full_clean()  # the policy declares its profiles: accepted
    assignment.save()
    selection = selection_for(Host(group=group))
    assert selection[policy_id].profile == "server"
    definition = next(p for p in enabled_definitions() if p.id == policy_id)
    [narrowed] = narrow([definition], selection)
    assert narrowed.checks and len(narrowed.checks) < len(definition.checks)
    for check in narrowed.checks:
        assert dict(check.profile_levels).get("server", check.level) == 1, check.id
    # The catalogue rows carry the same profile data: re-scoring picks the same checks.
    stored = Check.objects.filter(pk__in=in_scope(selection)).values_list("check_id", flat=True)
    assert set(stored) == {c.id for c in narrowed.checks}
    workstation_only = Check.objects.filter(policy=policy, profiles__has_key="workstation").exclude(
        profiles__has_key="server"
    )
    assert not set(workstation_only.values_list("check_id", flat=True)) & set(stored)
