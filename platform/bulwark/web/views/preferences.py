"""The user's own settings: language (English, Japanese, or the browser's) and time zone."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from bulwark.web.models import Preference


class PreferenceForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Preference
        fields = ["language", "time_zone"]


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    preference = Preference.objects.filter(user=request.user).first() or Preference(
        user=request.user
    )
    form = PreferenceForm(request.POST or None, instance=preference)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        # Said in the language just chosen (this request began in the previous one).
        with translation.override(saved.language or translation.get_language()):
            messages.success(request, _("Your settings are saved."))
        return redirect("web:preferences")
    return render(request, "web/preferences.html", {"form": form})
