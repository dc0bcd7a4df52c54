"""Forms of the pages: the host-list filters, the widget editor, the report picker."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bulwark.inventory.access import scope
from bulwark.inventory.models import Group, Host
from bulwark.policies.models import Check
from bulwark.reports.documents import TITLES
from bulwark.reports.parameters import STATUSES, FilterError
from bulwark.web.host_picker import host_named, listed, visible_hosts
from bulwark.web.models import Widget
from bulwark.web.templatetags.bulwark import LABELS as STATUS_LABELS


def visible_groups(user: Any) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=scope(Group.objects.all(), user, "pk"),
        required=False,
        empty_label=_("all groups"),
        label=_("group"),
    )


def category_names() -> list[str]:
    """The categories of the active checks, sorted (for category pickers)."""
    rows = Check.objects.filter(active=True).order_by("category").distinct()
    return list(rows.values_list("category", flat=True))


class HostFilterForm(forms.Form):
    """P11 filters: name, group, score range, and "all" to include never-audited hosts."""

    name = forms.CharField(required=False, max_length=200)
    group = forms.ModelChoiceField(queryset=Group.objects.none(), required=False)
    score_min = forms.FloatField(required=False, min_value=0, max_value=100, label=_("score from"))
    score_max = forms.FloatField(required=False, min_value=0, max_value=100, label=_("score to"))
    all = forms.BooleanField(required=False, label=_("all (incl. never audited)"))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"] = visible_groups(user)


class WidgetForm(forms.ModelForm):
    """Add or edit a widget; only the user's own groups can be chosen."""

    class Meta:
        model = Widget
        fields = ["title", "background", "data_type", "group", "days", "limit", "category"]
        widgets = {"background": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"] = visible_groups(user)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("data_type") == Widget.DataType.CATEGORY_CHECKS and not data.get("category"):
            self.add_error("category", _("this data type needs a category"))
        return data


class ReportForm(forms.Form):
    """Pick a report, its format and filters; submitted to the download redirect."""

    type = forms.ChoiceField(label=_("report"), choices=list(TITLES.items()))
    format = forms.ChoiceField(
        label=_("format"), choices=[("pdf", "PDF"), ("json", "JSON"), ("csv", "CSV")]
    )
    group = forms.ModelChoiceField(label=_("group"), queryset=Group.objects.none(), required=False)
    date_after = forms.DateField(
        label=_("from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_before = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    limit = forms.IntegerField(
        label=_("rows (N)"), required=False, min_value=1, max_value=1000, initial=10
    )
    category = forms.ChoiceField(
        label=_("category"), required=False, help_text=_("the category report needs one")
    )
    host = forms.ModelChoiceField(
        label=_("host"),
        queryset=Host.objects.none(),
        required=False,
        help_text=_("the checks report needs one"),
    )
    status = forms.ChoiceField(
        label=_("status"),
        required=False,
        choices=[("", _("all")), *((s, STATUS_LABELS[s]) for s in STATUSES)],
        help_text=_("checks of a host: only this status"),
    )
    not_applicable = forms.BooleanField(
        required=False, initial=True, label=_("Include not applicable (category report)")
    )
    page = forms.IntegerField(
        label=_("page"),
        required=False,
        min_value=1,
        help_text=_("scoring: hosts come in pages of 250 (1: the first 250 by name)"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"] = visible_groups(user)
        self.user = user
        # Only what the user may see is offered (a host of another group is not listed); a
        # large fleet's host is typed by name (host_picker), resolved in clean_host.
        if listed(user):
            self.fields["host"].queryset = visible_hosts(user)
            self.fields["host"].label_from_instance = lambda h: f"{h.name} ({h.group.name})"
        else:
            self.fields["host"] = forms.CharField(
                label=_("host"),
                required=False,
                max_length=200,
                help_text=_("the checks report needs one: its name"),
            )
        self.fields["category"].choices = [("", "—"), *((c, c) for c in category_names())]

    def clean_host(self) -> Host | None:
        host = self.cleaned_data.get("host")
        if not isinstance(host, str):  # chosen from the list (or none)
            return host
        if not host.strip():
            return None
        group = self.cleaned_data.get("group")  # declared before host: already cleaned
        try:
            pk = host_named(self.user, host, group.pk if group else None)
        except FilterError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return visible_hosts(self.user).get(pk=pk)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("type")
        if kind == "host-checks" and not data.get("host"):
            self.add_error("host", _("the checks of a host report needs a host"))
        if kind == "category" and not data.get("category"):
            self.add_error("category", _("the category report needs a category"))
        start, end = data.get("date_after"), data.get("date_before")
        if start and end and start > end:
            self.add_error("date_before", _("the end must not be before the start"))
        host, group = data.get("host"), data.get("group")
        if host and group and host.group_id != group.pk:
            self.add_error(
                "host",
                _("%(host)s is not in the group %(group)s")
                % {"host": host.name, "group": group.name},
            )
        return data


ANY_YES_NO = [("", _("any")), ("true", _("yes")), ("false", _("no"))]


def as_picked_on_a_page(form: forms.Form, user: Any) -> forms.Form:
    """A FilterSet's form (the API's parameters) as a person fills it in: hosts and groups
    picked by name among those the user sees (the values stay their ids), yes/no questions
    with an "any", dates with the browser's date picker. Only widgets change: the fields
    clean exactly what the API accepts."""
    # A large fleet's hosts are not listed (host_picker): the filter stays the host's id, as
    # the links from a host's page give it.
    if "host" in form.fields and listed(user):
        hosts = [(h.pk, f"{h.name} ({h.group.name})") for h in visible_hosts(user)]
        form.fields["host"].widget = forms.Select(choices=[("", _("all hosts")), *hosts])
    if "group" in form.fields:
        groups = [(g.pk, g.name) for g in scope(Group.objects.order_by("name"), user, "pk")]
        form.fields["group"].widget = forms.Select(choices=[("", _("all groups")), *groups])
    for field in form.fields.values():
        if isinstance(field, forms.NullBooleanField):
            field.widget = forms.Select(choices=ANY_YES_NO)
        for widget in getattr(field.widget, "widgets", []):
            if isinstance(widget, forms.DateInput | forms.TextInput) and _is_date(field):
                widget.input_type = "date"
    return form


def _is_date(field: forms.Field) -> bool:
    fields = getattr(field, "fields", [])
    return bool(fields) and all(isinstance(f, forms.DateField) for f in fields)
