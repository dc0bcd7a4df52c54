"""Groups and their members: the groups you belong to; superusers add groups (a new group has
no member to manage it); a group's admins set its description, thresholds, zone and parallelism
(only superusers rename: names are unique across Bulwark) and manage its members through
inventory/memberships.py. Another group is a 404, a change without the admin role a 403."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bulwark.inventory import memberships
from bulwark.inventory.access import can, is_unrestricted, role_in, scope
from bulwark.inventory.models import Group, Membership, Role
from bulwark.web.views.tabs import tabs


class GroupForm(forms.ModelForm):  # type: ignore[type-arg]
    """A group's settings; the model's clean() checks the thresholds."""

    class Meta:
        model = Group
        fields = ["name", "description", "warning_below", "critical_below", "zone", "max_parallel"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not is_unrestricted(user):
            self.fields["name"].disabled = True  # ignored if posted anyway
            self.fields["name"].help_text = _("only a superuser renames a group")


class MemberForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=Role.VIEWER)


def _group(request: HttpRequest, pk: int) -> Group:
    return get_object_or_404(scope(Group.objects.all(), request.user, "pk"), pk=pk)


def _admin_group(request: HttpRequest, pk: int) -> Group:
    group = _group(request, pk)
    if not can(request.user, group.pk, Role.ADMIN):
        raise PermissionDenied("only admins of this group change it")
    return group


@login_required
def group_list(request: HttpRequest) -> HttpResponse:
    groups = scope(Group.objects.annotate(host_count=Count("hosts")), request.user, "pk")
    rows = [{"group": g, "role": role_in(request.user, g.pk)} for g in groups.order_by("name")]
    context = {"rows": rows, "can_add": is_unrestricted(request.user), **tabs("groups")}
    return render(request, "web/group_list.html", context)


@login_required
def group_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if pk is None and not is_unrestricted(request.user):
        raise PermissionDenied("only superusers add groups")
    group = _admin_group(request, pk) if pk is not None else None
    form = GroupForm(request.POST or None, instance=group, user=request.user)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, _("%(row)s saved.") % {"row": saved})
        return redirect("web:group", saved.pk)
    context: dict[str, Any] = {"form": form, "group": group, **tabs("groups")}
    if group is not None:
        context["members"] = Membership.objects.filter(group=group).select_related("user")
        context["member_form"] = MemberForm()
        context["roles"] = Role.choices
    return render(request, "web/group_form.html", context)


@login_required
@require_POST
def member_add(request: HttpRequest, pk: int) -> HttpResponse:
    group = _admin_group(request, pk)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            made = memberships.add(
                request.user, group, form.cleaned_data["username"], form.cleaned_data["role"]
            )
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                for error in errors:
                    form.add_error("username", error)
        else:
            messages.success(
                request, _("%(user)s added to %(group)s.") % {"user": made.user, "group": group}
            )
            return redirect("web:group", group.pk)
    context = {
        "form": GroupForm(instance=group, user=request.user),
        "group": group,
        "members": Membership.objects.filter(group=group).select_related("user"),
        "member_form": form,
        "roles": Role.choices,
        **tabs("groups"),
    }
    return render(request, "web/group_form.html", context, status=400)


@login_required
@require_POST
def member_change(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    group = _group(request, pk)
    membership = get_object_or_404(Membership, pk=member_pk, group=group)
    if request.POST.get("remove"):
        try:
            memberships.remove(request.user, membership)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(user)s removed.") % {"user": membership.user})
        return redirect("web:group", group.pk)
    role = request.POST.get("role", "")
    try:
        if role not in Role.values:
            raise ValidationError(_("Choose a role: viewer, operator or admin."))
        memberships.change_role(request.user, membership, role)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(user)s is now %(role)s.")
            % {"user": membership.user, "role": membership.get_role_display()},
        )
    return redirect("web:group", group.pk)
