"""Single sign-on through OpenID Connect (mozilla-django-oidc): off unless OIDC_ENABLED.

The provider signs people in; Bulwark maps what its ID token and userinfo say (docs/security.md,
"Single sign-on"):
- an account per provider subject, named OIDC_USERNAME_PREFIX + the subject's
  `preferred_username` (or `sub`); it never takes over a local account of the same name (one
  with a password), whatever the provider claims;
- OIDC_REQUIRED_GROUP (if set): people without it in their groups claim are refused;
- OIDC_SUPERUSER_GROUP (if set): people with it are superusers, everyone else is not (on each
  sign-in);
- OIDC_MEMBERSHIP_PREFIX (if set, e.g. "bulwark:"): claims "bulwark:GROUP:ROLE" are the
  person's memberships, synced on each sign-in (the provider is then their source of truth).
The ID token's issuer and audience are checked too (the package checks the signature, expiry
and nonce only). The endpoints come from OIDC_DISCOVERY_URL unless set one by one.

A sign-in that fails here is a failed sign-in for django-axes like a wrong password: the
lock-out backend runs first and refuses a locked-out address."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.views import LoginView
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from bulwark.core import seclog
from bulwark.inventory.models import Group, Membership, Role

log = logging.getLogger(__name__)

# Settings the provider's discovery document gives, and its key for each.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_ISSUER": "issuer",
}
_UNSET = object()


@functools.lru_cache(maxsize=4)
def discovery(url: str) -> dict[str, Any]:
    """The provider's /.well-known/openid-configuration (fetched once per process)."""
    response = requests.get(url, timeout=getattr(settings, "OIDC_TIMEOUT", 10))
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def oidc_setting(attr: str, *default: Any) -> Any:
    """A setting of mozilla-django-oidc, completed from the discovery document."""
    value = getattr(settings, attr, _UNSET)
    if value in (_UNSET, "", None) and attr in DISCOVERED and settings.OIDC_DISCOVERY_URL:
        value = discovery(settings.OIDC_DISCOVERY_URL).get(DISCOVERED[attr], _UNSET)
    if value is _UNSET:
        if default:
            return default[0]
        raise ImproperlyConfigured(f"{attr} is not set (docs/security.md, Single sign-on)")
    return value


def _claimed_groups(claims: dict[str, Any]) -> set[str]:
    groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
    return {str(g) for g in groups} if isinstance(groups, list) else {str(groups)}


class OIDCBackend(OIDCAuthenticationBackend):  # type: ignore[misc]
    """The authentication backend (AUTHENTICATION_BACKENDS, after the lock-out backend)."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.enabled = bool(settings.OIDC_ENABLED)
        if self.enabled:  # Django builds every backend at each sign-in, SSO on or off
            super().__init__(*args, **kwargs)

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if not self.enabled:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except SuspiciousOperation as exc:
            # A bad signature, issuer or audience is a failed sign-in (counted by axes), not
            # an error page.
            log.warning("single sign-on refused: %s", exc)
            return None

    def verify_token(self, token: str, **kwargs: Any) -> Any:
        payload = super().verify_token(token, **kwargs)
        issuer = self.get_settings("OIDC_OP_ISSUER", "")
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation("ID token from another issuer")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token for another client")
        return payload

    def get_username(self, claims: dict[str, Any]) -> str:
        name = str(claims.get("preferred_username") or claims.get("sub") or "")
        name = re.sub(r"[^\w.@+-]", "_", name)
        if not name:
            raise SuspiciousOperation("no subject in the claims")
        return (settings.OIDC_USERNAME_PREFIX + name)[:150]

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        # By the mapped name, never by e-mail: a provider account must not take over a local
        # account that shares its address.
        return self.UserModel.objects.filter(username=self.get_username(claims))

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        if not claims.get("sub"):
            return False
        required = settings.OIDC_REQUIRED_GROUP
        if required and required not in _claimed_groups(claims):
            seclog.record(
                "signin.sso_refused", self.get_username(claims), detail={"missing_group": required}
            )
            return False
        return True

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = get_user_model().objects.create_user(
            self.get_username(claims), email=str(claims.get("email") or "")
        )
        user.set_unusable_password()  # signs in through the provider only
        return self._apply(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        if user.has_usable_password():
            raise SuspiciousOperation(f"{user.username} is a local account, not a provider one")
        return self._apply(user, claims)

    @transaction.atomic
    def _apply(self, user: Any, claims: dict[str, Any]) -> Any:
        groups = _claimed_groups(claims)
        superuser = bool(settings.OIDC_SUPERUSER_GROUP) and settings.OIDC_SUPERUSER_GROUP in groups
        user.is_superuser = superuser
        user.is_staff = True  # the admin pages are scoped to the user's groups
        user.email = str(claims.get("email") or user.email)
        user.save()
        prefix = settings.OIDC_MEMBERSHIP_PREFIX
        if prefix:
            self._sync_memberships(user, groups, prefix)
        return user

    def _sync_memberships(self, user: Any, groups: set[str], prefix: str) -> None:
        wanted: dict[str, str] = {}
        for claim in groups:
            if not claim.startswith(prefix):
                continue
            name, _, role = claim[len(prefix) :].rpartition(":")
            if name and role in Role.values:
                wanted[name] = role
        known = {g.name: g for g in Group.objects.filter(name__in=wanted)}
        Membership.objects.filter(user=user).exclude(group__name__in=known).delete()
        for name, group in known.items():
            membership = Membership.objects.filter(user=user, group=group).first()
            if membership is None:
                Membership.objects.create(user=user, group=group, role=wanted[name])
            elif membership.role != wanted[name]:
                membership.role = wanted[name]
                membership.save()


def _require_enabled() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("single sign-on is off")


class SignInView(OIDCAuthenticationRequestView):  # type: ignore[misc]
    """GET /oidc/authenticate/: off (404) unless OIDC_ENABLED; else to the provider."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if settings.OIDC_ENABLED:
            super().__init__(*args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        _require_enabled()
        return super().get(request)  # type: ignore[no-any-return]


class CallbackView(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    """GET /oidc/callback/: the provider sends the browser back here with a code."""

    get_settings = staticmethod(oidc_setting)

    @property
    def failure_url(self) -> str:
        return reverse("web:login") + "?sso=failed"

    def get(self, request: HttpRequest) -> HttpResponse:
        _require_enabled()
        return super().get(request)  # type: ignore[no-any-return]


class SignInPage(LoginView):
    """The sign-in page; it offers single sign-on when OIDC_ENABLED."""

    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["sso_enabled"] = bool(settings.OIDC_ENABLED)
        context["sso_failed"] = self.request.GET.get("sso") == "failed"
        return context


# Mounted at /oidc/ (bulwark/urls.py); the names are the ones mozilla-django-oidc reverses.
urlpatterns = [
    path("authenticate/", SignInView.as_view(), name="oidc_authentication_init"),
    path("callback/", CallbackView.as_view(), name="oidc_authentication_callback"),
]
