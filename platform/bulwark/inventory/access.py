"""Who sees what: every query of the API, admin, pages, reports and metrics goes through here.

A user sees the groups they are a member of (any role) and everything in them; superusers see
all. Operators and admins may start audits; admins may change a group's objects.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from bulwark.inventory.models import Group, Membership, Role

M = TypeVar("M", bound=Model)

_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


def is_unrestricted(user: Any) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def visible_group_ids(user: Any, *, at_least: Role = Role.VIEWER) -> QuerySet[Group] | None:
    """Ids of the groups `user` may act on with `at_least` that role; None means all groups."""
    if is_unrestricted(user):
        return None
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return Group.objects.none().values_list("pk", flat=True)  # type: ignore[return-value]
    roles = [role for role, rank in _RANK.items() if rank >= _RANK[at_least]]
    return Membership.objects.filter(user=user, role__in=roles).values_list(  # type: ignore[return-value]
        "group_id", flat=True
    )


def scope(
    queryset: QuerySet[M],
    user: Any,
    group_path: str | tuple[str, ...],
    *,
    at_least: Role = Role.VIEWER,
) -> QuerySet[M]:
    """`queryset` limited to rows whose group (reached by `group_path`, e.g. "host__group")
    the user may see. Use "pk" as the path for Group itself. Several paths (a schedule is for
    a host or a group) keep a row reached through any of them."""
    groups = visible_group_ids(user, at_least=at_least)
    if groups is None:
        return queryset
    paths = (group_path,) if isinstance(group_path, str) else group_path
    condition = Q()
    for path in paths:
        field = "pk" if path == "pk" else f"{path}_id" if "__" not in path else path
        condition |= Q(**{f"{field}__in": groups})
    return queryset.filter(condition)


def has_any_role(user: Any, at_least: Role = Role.VIEWER) -> bool:
    """True when the user has `at_least` that role in some group (superusers: always)."""
    groups = visible_group_ids(user, at_least=at_least)
    return groups is None or groups.exists()


def group_id_of(obj: Model, group_path: str | tuple[str, ...]) -> int | None:
    """The id of the group `obj` belongs to, following `group_path` as `scope` does (the first
    path that leads somewhere, for several)."""
    paths = (group_path,) if isinstance(group_path, str) else group_path
    for path in paths:
        if path == "pk":
            return int(obj.pk)
        *hops, last = path.split("__")
        value: Any = obj
        for hop in hops:
            value = getattr(value, hop, None)
            if value is None:
                break
        else:
            group_id = getattr(value, f"{last}_id", None)
            if group_id is not None:
                return int(group_id)
    return None


def role_in(user: Any, group: Group | int) -> Role | None:
    """The user's role in a group (ADMIN for superusers), or None without access."""
    if is_unrestricted(user):
        return Role.ADMIN
    if not getattr(user, "is_authenticated", False):
        return None
    group_id = group if isinstance(group, int) else group.pk
    membership = Membership.objects.filter(user=user, group_id=group_id).first()
    return Role(membership.role) if membership else None


def can(user: Any, group: Group | int, at_least: Role) -> bool:
    role = role_in(user, group)
    return role is not None and _RANK[role] >= _RANK[at_least]


def addable_users(user: Any) -> QuerySet[Any]:
    """Whom `user` may add to a group: anyone (superusers), else the active members of groups
    `user` administers. A username outside that set gets the same answer as one that does not
    exist, so the form tells nobody which accounts exist elsewhere."""
    from django.contrib.auth import get_user_model

    active = get_user_model().objects.filter(is_active=True)
    if is_unrestricted(user):
        return active
    administered = visible_group_ids(user, at_least=Role.ADMIN)
    return active.filter(bulwark_memberships__group__in=administered).distinct()
