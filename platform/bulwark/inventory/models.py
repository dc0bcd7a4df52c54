"""Groups, hosts and credentials. Credential secrets are encrypted at rest and write-only."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from bulwark.core import actor, seclog
from bulwark.core.fields import EncryptedTextField
from bulwark.inventory.targets import address_problem
from bulwark.inventory.validators import (
    looks_like_private_key,
    validate_address,
    validate_percent,
    validate_zone,
)

DEFAULT_ZONE = "default"


class HostState(models.TextChoices):
    """Where a host's latest score stands against its thresholds."""

    UNKNOWN = "unknown", _("unknown")
    OK = "ok", _("ok")
    WARNING = "warning", _("warning")
    CRITICAL = "critical", _("critical")


class Group(models.Model):
    """A set of hosts; the unit of access control and of group schedules."""

    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    warning_below = models.FloatField(
        _("warning below (%)"),
        null=True,
        blank=True,
        validators=[validate_percent],
        help_text=_("a score under this warns; empty: SCORE_WARNING_BELOW (default 80)"),
    )
    critical_below = models.FloatField(
        _("critical below (%)"),
        null=True,
        blank=True,
        validators=[validate_percent],
        help_text=_("under this: critical; empty: SCORE_CRITICAL_BELOW (default 50)"),
    )
    # Where the group's hosts are reached from: workers started with --zone NAME audit them.
    zone = models.CharField(
        max_length=63, default=DEFAULT_ZONE, validators=[validate_zone], verbose_name=_("zone")
    )
    max_parallel = models.PositiveIntegerField(
        verbose_name=_("maximum parallel audits"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("audits of this group running at once; empty: no limit"),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        _check_thresholds(self.warning_below, self.critical_below)


class Role(models.TextChoices):
    """What a member may do in a group: read, start audits, or manage its objects."""

    VIEWER = "viewer", _("viewer")
    OPERATOR = "operator", _("operator")
    ADMIN = "admin", _("admin")


class Membership(models.Model):
    """A user's access to one group, with a role. Superusers need none: they see everything."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="bulwark_memberships",
        verbose_name=_("user"),
    )
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("group")
    )
    role = models.CharField(
        max_length=10, choices=Role.choices, default=Role.VIEWER, verbose_name=_("role")
    )

    class Meta:
        ordering = ["group", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="one_membership_per_group")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.role})"


class Credential(models.Model):
    """How to log in to hosts of one group. `secret` is the private key or the password."""

    class Kind(models.TextChoices):
        SSH_KEY = "ssh-key", _("SSH key")
        SSH_PASSWORD = "ssh-password", _("SSH password")
        WINRM = "winrm", _("WinRM user and password")

    class Sudo(models.TextChoices):
        NONE = "none", _("no sudo")
        NOPASSWD = "nopasswd", _("sudo without a password")
        PASSWORD = "password", _("sudo with a password")

    # Credentials belong to a group like hosts do: its admins manage them, its hosts use them.
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="credentials", verbose_name=_("group")
    )
    name = models.CharField(max_length=100, verbose_name=_("name"))
    kind = models.CharField(
        max_length=20, choices=Kind.choices, default=Kind.SSH_KEY, verbose_name=_("kind")
    )
    username = models.CharField(max_length=100, verbose_name=_("username"))
    secret = EncryptedTextField(
        help_text=_("private key or password (write-only)"), verbose_name=_("secret")
    )
    passphrase = EncryptedTextField(
        help_text=_("passphrase of an encrypted private key"), verbose_name=_("passphrase")
    )
    sudo_mode = models.CharField(
        max_length=20, choices=Sudo.choices, default=Sudo.NONE, verbose_name=_("sudo mode")
    )
    sudo_password = EncryptedTextField(
        help_text=_("empty: the login password is used for sudo"), verbose_name=_("sudo password")
    )
    jump_host = models.ForeignKey(
        "Host",
        verbose_name=_("jump host"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("reach the hosts through this SSH host"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["group", "name"]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="credential_name_per_group")
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Credential {self.pk} {self.name!r} {self.kind}>"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    def save(self, *args: Any, **kwargs: Any) -> None:
        from bulwark.inventory import bindings

        # A str value is a secret entered now; a stored one reads back as Sealed.
        entered = {n for n in bindings.SECRET_FIELDS if isinstance(getattr(self, n), str)}
        entered = {n for n in entered if getattr(self, n)}
        created = self._state.adding
        super().save(*args, **kwargs)
        bindings.credential_saved(self, entered)
        kind = "credential.created" if created else "credential.changed"
        seclog.record(
            kind, f"{self.group_id}/{self.name}", detail={"secrets_entered": sorted(entered)}
        )

    def clean(self) -> None:
        problems: list[tuple[str, str]] = []  # (field, message); the first per field is shown
        secret = self.secret
        if not secret:
            problems.append(("secret", _("a credential needs its private key or password")))
        elif isinstance(secret, str):  # plaintext just entered (a Sealed one was checked before)
            if self.kind == self.Kind.SSH_KEY and not looks_like_private_key(secret):
                problems.append(("secret", _("not a private key (PEM or OpenSSH format)")))
            if self.kind != self.Kind.SSH_KEY and ("\n" in secret or "\0" in secret):
                problems.append(("secret", _("a password cannot contain a line break")))
        if self.passphrase and self.kind != self.Kind.SSH_KEY:
            problems.append(("passphrase", _("only an SSH key has a passphrase")))
        if self.sudo_mode != self.Sudo.NONE and self.kind == self.Kind.WINRM:
            problems.append(("sudo_mode", _("sudo applies to SSH credentials only")))
        if (
            self.sudo_mode == self.Sudo.PASSWORD
            and self.kind == self.Kind.SSH_KEY
            and not self.sudo_password
        ):
            problems.append(("sudo_password", _("sudo with a password needs the sudo password")))
        problems += self._jump_problems()
        errors: dict[str, str] = {}
        for name, message in problems:
            errors.setdefault(name, message)
        if errors:
            raise ValidationError(errors)

    def _jump_problems(self) -> list[tuple[str, str]]:
        if self.jump_host_id is None:
            return []
        jump = self.jump_host
        if self.kind == self.Kind.WINRM:
            return [("jump_host", _("jump hosts apply to SSH credentials only"))]
        if jump is not None and self.group_id is not None and jump.group_id != self.group_id:
            return [("jump_host", _("the jump host must be in the credential's group"))]
        if jump is None or jump.transport != Host.TransportKind.SSH:
            return [("jump_host", _("the jump host must be an SSH host"))]
        if jump.credential is not None and jump.credential.jump_host_id is not None:
            return [("jump_host", _("the jump host cannot itself need a jump host"))]
        if jump.credential_id is not None and jump.credential_id == self.pk:
            return [("jump_host", _("a credential cannot jump through its own host"))]
        return []


class Host(models.Model):
    """A machine we audit; belongs to one group."""

    class TransportKind(models.TextChoices):
        SSH = "ssh", _("SSH")
        WINRM = "winrm", _("WinRM")
        LOCAL = "local", _("local (the worker's own machine)")

    # Unique within its group only: a name taken in another group is not revealed by a refusal
    # (docs/security.md, "Existence leaks"); lookups by name ask for the group when two match.
    name = models.CharField(max_length=200, verbose_name=_("name"))
    address = models.CharField(
        max_length=255, validators=[validate_address], verbose_name=_("address")
    )
    port = models.PositiveIntegerField(
        verbose_name=_("port"),
        default=22,
        help_text=_("default 22 (SSH); WinRM: 5986 for HTTPS, 5985 for HTTP"),
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )
    transport = models.CharField(
        verbose_name=_("transport"),
        max_length=10,
        choices=TransportKind.choices,
        default=TransportKind.SSH,
    )
    group = models.ForeignKey(
        Group, on_delete=models.PROTECT, related_name="hosts", verbose_name=_("group")
    )
    credential = models.ForeignKey(
        Credential,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="hosts",
        verbose_name=_("credential"),
    )
    host_key = models.TextField(
        verbose_name=_("host key"),
        blank=True,
        help_text=_("pinned SSH host key(s): OpenSSH public key or known_hosts lines"),
    )
    trust_on_first_use = models.BooleanField(
        verbose_name=_("trust on first use"),
        default=False,
        help_text=_("pin the key seen at the first audit (default off; or 'test connection')"),
    )
    # WinRM hosts: HTTPS with certificate validation unless plain HTTP is explicitly allowed.
    winrm_auth = models.CharField(
        _("WinRM authentication"),
        max_length=10,
        help_text=_("WinRM hosts only (default NTLM)"),
        choices=[("ntlm", "NTLM"), ("basic", "Basic"), ("kerberos", "Kerberos")],
        default="ntlm",
    )
    winrm_allow_http = models.BooleanField(
        _("allow WinRM over HTTP"),
        default=False,
        help_text=_("WinRM over plain HTTP (5985) instead of HTTPS (default: HTTPS only)"),
    )
    ca_certificates = models.TextField(
        _("CA certificates"),
        blank=True,
        help_text=_("PEM CAs trusted for this host's WinRM HTTPS (empty: the system's)"),
    )
    warning_below = models.FloatField(
        _("warning below (%)"),
        null=True,
        blank=True,
        validators=[validate_percent],
        help_text=_("empty: the group's threshold (or the default, 80)"),
    )
    critical_below = models.FloatField(
        _("critical below (%)"),
        null=True,
        blank=True,
        validators=[validate_percent],
        help_text=_("empty: the group's threshold (or the default, 50)"),
    )
    zone = models.CharField(
        verbose_name=_("zone"),
        max_length=63,
        blank=True,
        validators=[validate_zone],
        help_text=_("empty: the group's"),
    )
    # OS facts, from the latest audit.
    os_family = models.CharField(max_length=50, blank=True)
    os_distribution = models.CharField(max_length=100, blank=True)
    os_version = models.CharField(max_length=100, blank=True)
    os_name = models.CharField(max_length=200, blank=True)
    kernel = models.CharField(max_length=200, blank=True)
    architecture = models.CharField(max_length=50, blank=True)
    reported_hostname = models.CharField(max_length=255, blank=True)
    # The four Pandora "modules", from the latest finished audit (Audit.latest marks it).
    last_audit_at = models.DateTimeField(null=True, blank=True)
    latest_score = models.FloatField(null=True, blank=True)
    latest_passed = models.PositiveIntegerField(default=0)
    latest_failed = models.PositiveIntegerField(default=0)
    latest_not_applicable = models.PositiveIntegerField(default=0)
    latest_excepted = models.PositiveIntegerField(default=0, db_default=0)
    latest_raw_score = models.FloatField(null=True, blank=True)
    # The latest finished audit ended in error: why and when (cleared by a stored audit).
    last_audit_error = models.TextField(blank=True, default="", db_default="")
    last_audit_error_at = models.DateTimeField(null=True, blank=True)
    # An assignment change widened the host's scope beyond what its latest audit evaluated:
    # stored results cannot tell those checks' verdicts, so it "needs re-audit" (when and why)
    # until an audit started after that change is stored (docs/scoring.md).
    scope_widened_at = models.DateTimeField(null=True, blank=True)
    scope_widened_reason = models.CharField(max_length=300, blank=True, default="", db_default="")
    state = models.CharField(max_length=10, choices=HostState.choices, default=HostState.UNKNOWN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name"]), models.Index(fields=["latest_score"])]
        constraints = [
            models.UniqueConstraint(fields=["group", "name"], name="host_name_per_group")
        ]

    def __str__(self) -> str:
        return self.name

    def validate_constraints(self, exclude: Any = None) -> None:
        """A name already used in this group is the `name` field's error (forms, the API and
        imports show it beside the name), not a message about the group and name together."""
        try:
            super().validate_constraints(exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict({})
            taken = Host.objects.filter(group_id=self.group_id, name=self.name).exclude(pk=self.pk)
            if NON_FIELD_ERRORS in errors and taken.exists():
                del errors[NON_FIELD_ERRORS]
                errors.setdefault("name", []).append(
                    ValidationError(_("a host with this name is already in this group"))
                )
            raise ValidationError(errors) from None

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.address:
            try:
                validate_address(self.address)
            except ValidationError as exc:
                errors["address"] = exc.messages[0]
            remote = self.transport != self.TransportKind.LOCAL
            problem = address_problem(self.address) if remote else None
            if problem and "address" not in errors:
                errors["address"] = problem
        if self.port is not None and not 1 <= self.port <= 65535:
            errors["port"] = _("port must be between 1 and 65535")
        credential = self.credential if self.credential_id else None
        local_problem = self._local_problem()
        if local_problem:
            errors["transport"] = local_problem
        if self.transport == self.TransportKind.LOCAL:
            if credential is not None:
                errors["credential"] = _("a local host runs as the worker: no credential")
        elif credential is None:
            errors["credential"] = _("a %(transport)s host needs a credential") % {
                "transport": self.get_transport_display()
            }
        elif self.group_id is not None and credential.group_id != self.group_id:
            errors["credential"] = _("the credential must belong to the host's group")
        elif (self.transport == self.TransportKind.WINRM) != (
            credential.kind == Credential.Kind.WINRM
        ):
            errors["credential"] = _("a %(kind)s credential cannot log in over %(transport)s") % {
                "kind": credential.get_kind_display(),
                "transport": self.get_transport_display(),
            }
        if self.winrm_auth == "basic" and self.winrm_allow_http:
            errors["winrm_auth"] = _("Basic authentication sends the password: HTTPS only")
        if self.ca_certificates and "-----BEGIN CERTIFICATE-----" not in self.ca_certificates:
            errors["ca_certificates"] = _("not a PEM certificate (-----BEGIN CERTIFICATE-----)")
        try:
            _check_thresholds(self.warning_below, self.critical_below)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        from bulwark.inventory import bindings

        before = None
        if not self._state.adding:
            stored = Host.objects.select_related("credential__jump_host").filter(pk=self.pk)
            before = next((bindings.destination(h) for h in stored), None)
        super().save(*args, **kwargs)
        bindings.host_saved(self, before)
        after = bindings.destination(self)
        if before != after:
            where = {"transport": self.transport, "address": self.address, "port": self.port}
            kind = "host.created" if before is None else "host.destination_changed"
            seclog.record(kind, f"{self.group_id}/{self.name}", detail=where)

    def _local_problem(self) -> str | None:
        """A host becoming `local` runs every policy on the Bulwark machine itself: only when
        ALLOW_LOCAL_AUDITS is on, and only a superuser (or a command) makes one."""
        if self.transport != self.TransportKind.LOCAL:
            return None
        was_local = (
            self.pk is not None
            and Host.objects.filter(pk=self.pk, transport=self.TransportKind.LOCAL).exists()
        )
        if was_local:
            return None  # already there (its audits are still refused while the setting is off)
        if not settings.ALLOW_LOCAL_AUDITS:
            return _("audits of the Bulwark machine itself are off (ALLOW_LOCAL_AUDITS)")
        if not actor.is_trusted():
            return _("only a superuser adds a local host (the Bulwark machine itself)")
        return None

    @property
    def effective_zone(self) -> str:
        """The host's zone, else its group's."""
        return self.zone or self.group.zone

    def thresholds(self) -> tuple[float, float]:
        """(warning below, critical below): the host's, else its group's, else the defaults."""
        group = self.group
        warning = _first(self.warning_below, group.warning_below, settings.SCORE_WARNING_BELOW)
        critical = _first(self.critical_below, group.critical_below, settings.SCORE_CRITICAL_BELOW)
        return warning, critical


class CredentialBinding(models.Model):
    """A credential's secrets may be sent to this host while the host's destination digest
    (inventory/bindings.py) is the one confirmed here; any other destination is refused."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="bindings")
    host = models.ForeignKey(Host, on_delete=models.CASCADE, related_name="credential_bindings")
    destination = models.CharField(max_length=64)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["credential", "host"], name="one_binding_per_host")
        ]

    def __str__(self) -> str:
        return f"{self.credential} -> {self.host}"


def _first(*values: Any) -> float:
    return float(next(v for v in values if v is not None))


def _check_thresholds(warning: float | None, critical: float | None) -> None:
    errors = {}
    for name, value in (("warning_below", warning), ("critical_below", critical)):
        if value is not None and not 0 <= value <= 100:
            errors[name] = _("must be between 0 and 100")
    if not errors and warning is not None and critical is not None and critical > warning:
        errors["critical_below"] = _("the critical threshold cannot be above the warning one")
    if errors:
        raise ValidationError(errors)
