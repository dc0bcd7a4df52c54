"""Policies and assignments: the catalogue (superusers enable and disable policies) and which
policies apply to your groups and hosts, with levels and profile (group admins assign for their
groups, superusers set the defaults). Changes go through the services of /api/policies/ and
/api/assignments/: audits/targeting_services.py and audits/assignment_services.py (which
re-scores the hosts an assignment reaches)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bulwark.audits import assignment_services, targeting_services
from bulwark.audits.targets import Assignment
from bulwark.inventory.access import has_any_role, is_unrestricted, scope
from bulwark.inventory.models import Group, Host, Role
from bulwark.policies.models import Policy
from bulwark.web import host_picker
from bulwark.web.views.tabs import tabs

LEVELS = {"1": [1], "1,2": [1, 2], "2": [2]}


class AssignmentForm(forms.Form):
    policy = forms.ModelChoiceField(label=gettext_lazy("Policy"), queryset=Policy.objects.all())
    group = forms.ModelChoiceField(
        label=gettext_lazy("Group"), queryset=Group.objects.none(), required=False
    )
    host = forms.ModelChoiceField(
        label=gettext_lazy("Host"),
        queryset=Host.objects.none(),
        required=False,
        help_text=gettext_lazy("one host instead of a whole group (it replaces the group's)"),
    )
    levels = forms.ChoiceField(
        label=gettext_lazy("Levels"),
        choices=[
            ("1", gettext_lazy("Level 1")),
            ("1,2", gettext_lazy("Level 1 + 2")),
            ("2", gettext_lazy("Level 2 only")),
        ],
        initial="1,2",
    )
    profile = forms.ChoiceField(
        label=gettext_lazy("Profile"),
        choices=[("", gettext_lazy("every check")), *Assignment.Profile.choices],
        required=False,
        help_text=gettext_lazy("server or workstation, where the policy has them"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = scope(Group.objects.all(), user, "pk", at_least=Role.ADMIN)  # type: ignore[attr-defined]
        self.fields["host"].queryset = scope(  # type: ignore[attr-defined]
            Host.objects.select_related("group"), user, "group", at_least=Role.ADMIN
        )
        self.fields["host"] = host_picker.listed_or_typed(self.fields["host"])  # type: ignore[arg-type]
        if is_unrestricted(user):
            self.fields["group"].help_text = _("neither group nor host: a default for every group")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("group") and data.get("host"):
            raise ValidationError(_("choose a group or a host, not both"))
        return data

    def fill(self, assignment: Assignment) -> Assignment:
        data = self.cleaned_data
        assignment.policy = data["policy"]
        assignment.group = data.get("group")
        assignment.host = data.get("host")
        assignment.levels = LEVELS[data["levels"]]
        assignment.profile = data.get("profile") or None
        return assignment

    @staticmethod
    def initial_of(assignment: Assignment) -> dict[str, Any]:
        return {
            "policy": assignment.policy_id,
            "group": assignment.group_id,
            "host": assignment.host_id,
            "levels": ",".join(str(level) for level in sorted(assignment.levels)),
            "profile": assignment.profile or "",
        }


def _assignments(user: Any) -> QuerySet[Assignment]:
    """As GET /api/assignments/: your groups' and hosts', and the defaults."""
    mine = scope(Assignment.objects.all(), user, ("host__group", "group"))
    defaults = Q(group__isnull=True, host__isnull=True)
    return Assignment.objects.filter(Q(pk__in=mine.values("pk")) | defaults).select_related(
        "policy", "group", "host"
    )


@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    rows = [
        {"assignment": a, "may_change": assignment_services.may_change(user, a)}
        for a in _assignments(user).order_by("policy__policy_id", "pk")
    ]
    context = {
        "policies": Policy.objects.order_by("policy_id"),
        "assignments": rows,
        "superuser": is_unrestricted(user),
        "can_assign": has_any_role(user, Role.ADMIN),
        **tabs("policies"),
    }
    return render(request, "web/policy_list.html", context)


@login_required
@require_POST
def policy_enable(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(Policy, pk=pk)
    enabled = request.POST.get("enabled") == "1"
    targeting_services.set_enabled(request.user, policy, enabled)  # 403 unless a superuser
    message = _("%(policy)s enabled.") if enabled else _("%(policy)s disabled.")
    messages.success(request, message % {"policy": policy.policy_id})
    return redirect("web:policies")


@login_required
def assignment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = request.user
    assignment = get_object_or_404(_assignments(user), pk=pk) if pk is not None else Assignment()
    if pk is not None and not assignment_services.may_change(user, assignment):
        raise PermissionDenied("only admins of the group change its assignments")
    if pk is None and not has_any_role(user, Role.ADMIN):
        raise PermissionDenied("you are an admin of no group")
    initial = AssignmentForm.initial_of(assignment) if pk is not None else None
    form = AssignmentForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.fill(assignment)
            assignment_services.save(user, saved)
        except PermissionDenied:
            form.add_error("group", _("only superusers set the defaults: choose a group or host"))
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("%(row)s saved.") % {"row": saved})
            return redirect("web:policies")
    context = {"form": form, "assignment": assignment if pk else None, **tabs("policies")}
    return render(request, "web/assignment_form.html", context)


@login_required
@require_POST
def assignment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(_assignments(request.user), pk=pk)
    assignment_services.delete(request.user, assignment)  # 403 unless it may change it
    messages.success(request, _("%(row)s removed.") % {"row": assignment})
    return redirect("web:policies")
