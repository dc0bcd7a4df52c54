"""Which checks of which policies an audit runs: the selection the platform passes in.

A selection maps a policy id to the CIS levels and profile to include. Policies it does not
name are not run; checks outside the levels or profile are neither evaluated nor reported.
A policy whose platform does not match the transport (a Windows policy on an SSH host) is not
applicable as a whole, decided from its rules alone, before any fact is collected.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from workers.engine.definitions import CheckDefinition, PolicyDefinition, RuleType

ALL_LEVELS = frozenset({1, 2})


@dataclass(frozen=True)
class PolicySelection:
    """The part of one policy to run. `profile` None: every profile."""

    levels: frozenset[int] = ALL_LEVELS
    profile: str | None = None

    def includes(self, check: CheckDefinition) -> bool:
        return self.admits(check.level, dict(check.profile_levels) or check.profiles)

    def admits(self, level: int | None, profiles: Collection[str] | Mapping[str, int]) -> bool:
        """A check of this level and these profiles (names, or name -> the check's level in
        that profile) is in scope. A check without a level or profile belongs to every level
        or profile; with a profile chosen, the check's level in that profile decides."""
        if self.profile and isinstance(profiles, Mapping) and profiles:
            return profiles.get(self.profile) in self.levels
        if level is not None and level not in self.levels:
            return False
        return not (self.profile and profiles and self.profile not in profiles)


Selection = Mapping[str, PolicySelection]


def narrow(
    policies: Sequence[PolicyDefinition], selection: Selection | None
) -> list[PolicyDefinition]:
    """The policies the selection names, each with only its in-scope checks."""
    if selection is None:
        return list(policies)
    narrowed = []
    for policy in policies:
        chosen = selection.get(policy.id)
        if chosen is None:
            continue
        checks = tuple(check for check in policy.checks if chosen.includes(check))
        narrowed.append(replace(policy, checks=checks))
    return narrowed


def policy_platform(policy: PolicyDefinition) -> str | None:
    """ "windows" or "posix" when the policy's rules say so, None when they do not tell.

    Registry rules exist only on Windows; an absolute POSIX path (f:/etc/...) only elsewhere.
    The requirements decide when they have rules of either kind, else the checks do."""
    groups = [policy.requirements.rules] if policy.requirements else []
    groups.append(tuple(rule for check in policy.checks for rule in check.rules))
    for rules in groups:
        if any(rule.type is RuleType.REGISTRY for rule in rules):
            return "windows"
        paths = (
            rule
            for rule in rules
            if rule.type in (RuleType.FILE, RuleType.DIRECTORY)
            and any(location.startswith("/") for location in rule.locations)
        )
        if next(paths, None) is not None:
            return "posix"
    return None


def platform_mismatch(policy: PolicyDefinition, windows: bool) -> str | None:
    """The reason the policy cannot apply on this transport, or None when it may."""
    platform = policy_platform(policy)
    if platform == "windows" and not windows:
        return "platform: a Windows policy on a host reached over SSH"
    if platform == "posix" and windows:
        return "platform: a Linux/Unix policy on a host reached over WinRM"
    return None
