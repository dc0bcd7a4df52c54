"""The demo's lab: a few SSH test hosts with different hardening (lab/harness.py), each
registered with a credential, its pinned host key and a group schedule. Needs root; the hosts
live as long as the process that started them (`manage.py demo_setup --serve`)."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from bulwark.audits.models import Schedule
from bulwark.inventory.models import Credential, Group, Host

LAB = "lab"

HARDENED_SSHD = """\
PermitRootLogin no
AllowUsers auditor
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitEmptyPasswords no
PermitUserEnvironment no
UsePAM no
UseDNS no
DisableForwarding yes
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
AllowStreamLocalForwarding no
PermitTunnel no
GatewayPorts no
GSSAPIAuthentication no
KerberosAuthentication no
HostbasedAuthentication no
IgnoreRhosts yes
IgnoreUserKnownHosts yes
StrictModes yes
MaxAuthTries 4
MaxSessions 10
MaxStartups 10:30:60
LoginGraceTime 60
ClientAliveInterval 15
ClientAliveCountMax 3
LogLevel VERBOSE
Banner /etc/issue.net
Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr
MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512,hmac-sha2-256
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512
Subsystem sftp /usr/lib/openssh/sftp-server
"""

WEAK_SSHD = """\
PermitRootLogin yes
PasswordAuthentication yes
PermitEmptyPasswords yes
PermitUserEnvironment yes
UsePAM no
UseDNS no
X11Forwarding yes
AllowTcpForwarding yes
GatewayPorts yes
PermitTunnel yes
MaxAuthTries 10
LogLevel QUIET
Subsystem sftp /usr/lib/openssh/sftp-server
"""

HARDENED_SYSCTLS = {
    "net.ipv4.ip_forward": "0",
    "net.ipv4.conf.all.send_redirects": "0",
    "net.ipv4.conf.default.send_redirects": "0",
    "net.ipv4.conf.all.accept_redirects": "0",
    "net.ipv4.conf.default.accept_redirects": "0",
    "net.ipv4.conf.all.secure_redirects": "0",
    "net.ipv4.conf.default.secure_redirects": "0",
    "net.ipv4.conf.all.accept_source_route": "0",
    "net.ipv4.conf.all.log_martians": "1",
    "net.ipv4.conf.default.log_martians": "1",
    "net.ipv4.conf.all.rp_filter": "1",
    "net.ipv4.icmp_echo_ignore_broadcasts": "1",
    "net.ipv4.icmp_ignore_bogus_error_responses": "1",
    "net.ipv4.tcp_syncookies": "1",
}

WEAK_SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.ipv4.conf.all.send_redirects": "1",
    "net.ipv4.conf.all.accept_redirects": "1",
    "net.ipv4.conf.all.accept_source_route": "1",
    "net.ipv4.conf.all.log_martians": "0",
    "net.ipv4.tcp_syncookies": "0",
}


def _login_defs(aging: dict[str, str], **values: str) -> str:
    """This machine's /etc/login.defs with these keywords (password aging ones first) set."""
    text = Path("/etc/login.defs").read_text() if Path("/etc/login.defs").exists() else ""
    for key, value in {**aging, **values}.items():
        line = f"{key}\t{value}"
        text, found = re.subn(rf"(?m)^\s*#?\s*{key}\b.*$", line, text, count=1)
        if not found:
            text += f"\n{line}\n"
    return text


def specs() -> list[Any]:
    """Three hosts: hardened (sudo user, strict sshd, sysctls, password aging), the harness's
    defaults, and a weak legacy box."""
    from lab.harness import HostSpec, TestUser

    return [
        HostSpec(
            "web-hardened",
            files={
                "/etc/ssh/sshd_config": HARDENED_SSHD,
                "/etc/issue.net": "Authorized use only. Activity may be monitored.\n",
                "/etc/login.defs": _login_defs(
                    {"PASS_MAX_DAYS": "365", "PASS_MIN_DAYS": "1", "PASS_WARN_AGE": "7"},
                    UMASK="027",
                ),
            },
            sysctls=HARDENED_SYSCTLS,
            users=[TestUser("auditor", sudo="nopasswd")],
        ),
        HostSpec("db-default"),
        HostSpec(
            "legacy-weak",
            files={
                "/etc/ssh/sshd_config": WEAK_SSHD,
                "/etc/login.defs": _login_defs({"PASS_MAX_DAYS": "99999"}, UMASK="000"),
            },
            sysctls=WEAK_SYSCTLS,
        ),
    ]


def unavailable() -> str | None:
    """Why the lab cannot run here, or None."""
    try:
        from lab.harness import unavailable_reason
    except ImportError:  # an install without the lab (the container image)
        return "the lab of test hosts (lab/) is not installed"
    return unavailable_reason()


def start_lab() -> tuple[Any, list[Host]]:
    """Start the lab hosts and register them; returns (the TestHosts to close, the hosts)."""
    from lab.harness import TestHosts

    manager = TestHosts()
    try:
        started = manager.start_many(specs())
        group, _ = Group.objects.get_or_create(
            name=LAB, defaults={"description": "SSH test hosts of the demo (network namespaces)"}
        )
        hosts = [_register(group, test_host) for test_host in started]
        if not Schedule.objects.filter(group=group).exists():
            Schedule.objects.create(group=group)
    except BaseException:
        manager.close()
        raise
    return manager, hosts


def _register(group: Group, test_host: Any) -> Host:
    """The host row for a running test host (updated on a later demo: new address and keys)."""
    sudo_user = next((u for u in test_host.spec.users if u.sudo == "nopasswd"), None)
    username = sudo_user.name if sudo_user else "root"
    name = f"{test_host.name}-key"
    credential = Credential.objects.filter(group=group, name=name).first() or Credential(
        group=group, name=name
    )
    credential.kind, credential.username = Credential.Kind.SSH_KEY, username
    credential.secret = test_host.client_key  # each run of the harness makes a new key
    credential.sudo_mode = Credential.Sudo.NOPASSWD if sudo_user else Credential.Sudo.NONE
    credential.full_clean()
    credential.save()
    host = Host.objects.filter(group=group, name=test_host.name).first() or Host(
        name=test_host.name
    )
    host.group, host.credential, host.transport = group, credential, Host.TransportKind.SSH
    host.address, host.port = test_host.address, test_host.port
    host.host_key = test_host.host_key_line
    host.full_clean()
    host.save()
    return host


# -- stopping: every way of stopping the demo removes the lab ------------------------------------

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _unwind(signum: int, frame: FrameType | None) -> None:
    # Unwind through the demo's finally (which closes the lab) instead of dying on the spot.
    raise SystemExit(128 + signum)


def exit_on_signals() -> None:
    """SIGTERM (a service manager, `kill`) and SIGHUP (a closed terminal) stop the demo as
    Ctrl-C does: by unwinding, so the lab is closed. Call from the main thread."""
    signal.signal(signal.SIGTERM, _unwind)
    signal.signal(signal.SIGHUP, _unwind)


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP while the lab closes: a second signal (a service
    manager insisting, Ctrl-C pressed twice) must not cut the removal short. They are
    delivered once it is done."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def remove_stale_lab() -> list[str]:
    """Remove what a demo killed outright (SIGKILL) left behind: its namespaces with their sshd
    processes and veth links, its temporary folders, and the 10.77.0.0/16 route unless a live
    lab still uses it. Returns the namespaces removed."""
    if unavailable():
        return []
    # The harness's own clean-up (it runs it before starting hosts too); the route is dropped
    # only when no live harness holds its lock.
    from lab.harness import _drop_route_if_last, cleanup_stale

    removed = cleanup_stale()
    _drop_route_if_last()
    return removed
