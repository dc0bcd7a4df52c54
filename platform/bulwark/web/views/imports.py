"""Import hosts from a CSV file or an Ansible inventory (INI or YAML): upload, see what would be
created (or every problem as file:line), then create all of them or none. The parsing and the
checks are bulwark/inventory/imports.py; the file is kept in the preview form and planned
again on "create", so nothing the browser sends back is trusted."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bulwark.inventory import imports
from bulwark.inventory.access import has_any_role, scope
from bulwark.inventory.models import Credential, Group, Role
from bulwark.web.views.tabs import tabs


class ImportForm(forms.Form):
    group = forms.ModelChoiceField(label=gettext_lazy("Group"), queryset=Group.objects.none())
    credential = forms.ModelChoiceField(
        label=gettext_lazy("Credential"),
        queryset=Credential.objects.none(),
        required=False,
        help_text=gettext_lazy("of the same group; the inventory's logins are not imported"),
    )
    file = forms.FileField(
        label=gettext_lazy("Inventory file"),
        required=False,
        help_text=gettext_lazy(
            "CSV (name,host,port,connection,host_key,...), or an Ansible inventory: INI or YAML"
        ),
    )
    # After the preview: the same file, carried in the page (and planned again).
    name = forms.CharField(widget=forms.HiddenInput, required=False)
    content = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = scope(Group.objects.all(), user, "pk", at_least=Role.ADMIN)  # type: ignore[attr-defined]
        self.fields["credential"].queryset = scope(  # type: ignore[attr-defined]
            Credential.objects.select_related("group"), user, "group", at_least=Role.ADMIN
        )

    def upload(self) -> tuple[str, bytes] | None:
        """(file name, bytes): the uploaded file, else the one carried from the preview."""
        upload = self.cleaned_data.get("file")
        if upload is not None:  # one byte over the limit is enough for the plan to refuse it
            return upload.name or "inventory", upload.read(imports.MAX_BYTES + 1)
        carried = self.cleaned_data.get("content") or ""
        if not carried:
            return None
        try:
            return self.cleaned_data.get("name") or "inventory", base64.b64decode(carried)
        except (binascii.Error, ValueError):
            return None


@login_required
def import_hosts(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not has_any_role(user, Role.ADMIN):
        raise PermissionDenied("you are an admin of no group")
    form = ImportForm(request.POST or None, request.FILES or None, user=user)
    context: dict[str, Any] = {"form": form, **tabs("import")}
    if request.method == "POST" and form.is_valid():
        upload = form.upload()
        if upload is None:
            form.add_error("file", _("Choose a file."))
        else:
            name, data = upload
            group, credential = form.cleaned_data["group"], form.cleaned_data.get("credential")
            if "create" in request.POST:
                try:
                    made = imports.apply(user, name, data, group, credential)
                except imports.ImportRefused as exc:
                    context["plan"] = imports.ImportPlan(group, credential, problems=exc.problems)
                else:
                    messages.success(
                        request,
                        _("%(count)s hosts imported into %(group)s.")
                        % {"count": len(made), "group": group},
                    )
                    return redirect("web:manage", "hosts")
            else:
                plan = context["plan"] = imports.plan(user, name, data, group, credential)
                if not plan.problems:
                    context["carried"] = {"name": name, "content": base64.b64encode(data).decode()}
    return render(request, "web/host_import.html", context)
