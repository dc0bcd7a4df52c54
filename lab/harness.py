"""Test hosts: real sshd targets on this machine, each in its own namespaces (needs root).

A host is a network namespace (a veth /30 from 10.77.0.0/16, its own net.* sysctls) plus mount,
UTS and PID namespaces in which an overlay over /etc (the host's own files) and a private /run
are mounted and Debian's sshd runs as PID 1. Killing that sshd ends everything in the host.
A spec may overlay more of the machine's directories (/var, /usr): what the host writes there
lands in its own upper directory, so dpkg and systemctl can run in it for real.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from lab.overlay import _build_overlay, _check_path

if TYPE_CHECKING:
    from workers.transports.ssh import SSHTarget

PREFIX = "bwk"
SSHD = "/usr/sbin/sshd"
NETWORK = "10.77.0.0/16"
SLOTS = 16384  # /30 subnets in NETWORK
LOCK_PATH = "/run/lock/bwk-harness.lock" if os.path.isdir("/run/lock") else "/tmp/bwk-harness.lock"
# Held exclusively by whoever removes stale labs (cleanup_stale), so cleaners take turns.
CLEANUP_LOCK_PATH = LOCK_PATH.removesuffix(".lock") + "-cleanup.lock"
# Held shared by every cleaner waiting for its turn (and while it cleans): a harness starting
# hosts, which never waits, skips its clean-up while anyone is waiting. flock does not hand a
# released lock to the process that waited longest.
WAITING_LOCK_PATH = LOCK_PATH.removesuffix(".lock") + "-cleanup-waiting.lock"
# This build machine's toolchains, which no test host uses: each host sees an empty read-only
# tmpfs over them. A whole-filesystem audit in a host (the CIS scan for world-writable, unowned
# and SUID files, which stats every file) would otherwise walk their ~250,000 files: about half
# of each such audit's time here, many times in a test run. A host's own files are untouched.
HIDDEN_TOOLCHAINS = ("/root/.rustup", "/root/.m2", "/root/.cargo")
PYENV_VERSIONS = Path("/root/.pyenv/versions")
_NETNS_NAME = re.compile(rf"^{PREFIX}-(\d+)-(\d+)$")
_HOST_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")


def hidden_from_hosts() -> list[str]:
    """The toolchains above present on this machine, and every pyenv Python but the one this
    process (and so the project's virtualenv, which test hosts may run) is built on."""
    hidden = [path for path in HIDDEN_TOOLCHAINS if os.path.isdir(path)]
    if PYENV_VERSIONS.is_dir():
        mine = Path(sys.base_prefix).resolve()
        hidden += sorted(
            str(version)
            for version in PYENV_VERSIONS.iterdir()
            if version.is_dir() and not version.is_symlink() and version.resolve() != mine
        )
    return hidden


class HarnessUnavailable(RuntimeError):
    """This machine cannot run test hosts (not root, or a tool is missing)."""


@dataclass(frozen=True)
class TestUser:
    """An extra login on a test host. `sudo` is None, "nopasswd" or "password"."""

    __test__ = False

    name: str
    password: str | None = field(default=None, repr=False)
    sudo: str | None = None
    uid: int | None = None
    shell: str = "/bin/sh"
    home: str = "/"
    # The harness's client key may log in as this user.
    authorized: bool = True


@dataclass(frozen=True)
class HostSpec:
    """What makes one test host different: paths are under /etc (the overlaid directory).

    `owners` values are "user:group", "user" or (uid, gid); `processes` are shell command lines
    left running in the host. An /etc/ssh/sshd_config in `files` replaces the harness's default
    body; the lines the harness needs (Port, ListenAddress, PidFile, HostKey,
    AuthorizedKeysFile) are put first, and sshd keeps the first value it reads.
    """

    name: str
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    remove: Sequence[str] = ()
    modes: Mapping[str, int] = field(default_factory=dict)
    owners: Mapping[str, str | tuple[int, int]] = field(default_factory=dict)
    sysctls: Mapping[str, str] = field(default_factory=dict)
    users: Sequence[TestUser] = ()
    processes: Sequence[str] = ()
    # More public key lines allowed to log in as root and as every authorized user.
    authorized_keys: Sequence[str] = ()
    # Paths OUTSIDE /etc whose content the host sees replaced (a bind mount in its own mount
    # namespace; the path must exist on the machine): /proc/sys/kernel/*, /var/lib/dpkg/status...
    overrides: Mapping[str, str | bytes] = field(default_factory=dict)
    # Shell lines run as root inside the host before sshd starts, after /etc, /run and the
    # overrides are in place: `mount -t tmpfs -o nodev,nosuid tmpfs /tmp`, for example.
    setup: Sequence[str] = ()
    # Directories OUTSIDE /etc that the host sees as an overlay of the machine's (its writes go
    # to an upper directory of its own, like /etc's): "/var" and "/usr" let a remediation run
    # dpkg or systemctl there without changing the machine. Mounted before overrides and setup.
    overlays: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not _HOST_NAME.match(self.name):
            raise ValueError(f"host name must be a short DNS label: {self.name!r}")
        for path in [*self.files, *self.remove, *self.modes, *self.owners]:
            _check_path(path)
        for path in self.overrides:
            pure = PurePosixPath(path)
            if not pure.is_absolute() or ".." in pure.parts or pure.is_relative_to("/etc"):
                raise ValueError(f"overrides are absolute paths outside /etc: {path!r}")
        for path in self.overlays:
            _check_overlay(path)
        for key in self.sysctls:
            # Only net.* sysctls belong to a network namespace; others would change the machine.
            if not re.fullmatch(r"net\.[A-Za-z0-9_.\-/]+", key):
                raise ValueError(f"only net.* sysctls are per host: {key!r}")
        for user in self.users:
            if user.sudo not in (None, "nopasswd", "password"):
                raise ValueError(f"sudo must be None, 'nopasswd' or 'password': {user.sudo!r}")


# Never overlaid: /etc has its own, the kernel's and the host's private /run are not the machine's
# files, and an overlay of / or of a parent of /tmp would hide the upper directories themselves.
_NOT_OVERLAID = ("/etc", "/proc", "/sys", "/dev", "/run", "/tmp")


def _check_overlay(path: str) -> None:
    pure = PurePosixPath(path)
    if (
        not pure.is_absolute()
        or ".." in pure.parts
        or pure == PurePosixPath("/")
        or any(
            pure.is_relative_to(p) or PurePosixPath(p).is_relative_to(pure) for p in _NOT_OVERLAID
        )
        or not os.path.isdir(path)
        or os.path.islink(path)
    ):
        raise ValueError(f"overlays are existing directories outside /etc, /run, /tmp: {path!r}")


# What hosts (and the sudo tests run on them) use from this machine, by Debian package.
REQUIRED = {
    "/usr/sbin/ip": "iproute2",
    "/usr/bin/unshare": "util-linux",
    "/usr/bin/nsenter": "util-linux",
    SSHD: "openssh-server",
    "/usr/bin/sudo": "sudo",
    "/usr/bin/openssl": "openssl",
}


def unavailable_reason() -> str | None:
    """Why test hosts cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "test hosts need root (network and mount namespaces)"
    missing = sorted(
        {package for path, package in REQUIRED.items() if not os.access(path, os.X_OK)}
    )
    if missing:
        return f"test hosts need these packages: {' '.join(missing)} (python -m {__name__} install)"
    return None


def _missing_packages() -> list[str]:
    return sorted({package for path, package in REQUIRED.items() if not os.access(path, os.X_OK)})


def install_missing() -> list[str]:
    """apt-get install the packages of REQUIRED this machine lacks; return their names."""
    missing = _missing_packages()
    if missing:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    return missing


def _run(args: Sequence[str], *, input: str | None = None, check: bool = True) -> str:
    done = subprocess.run(args, input=input, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _pid_alive(pid: int) -> bool:
    try:
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _kill_netns(netns: str) -> None:
    """SIGKILL every process in the namespace and wait until they are gone."""
    for _ in range(50):
        pids = [int(p) for p in _run(["ip", "netns", "pids", netns], check=False).split()]
        if not pids:
            return
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def _netns_names() -> list[str]:
    listing = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def cleanup_stale(*, wait: bool = True) -> list[str]:
    """Remove namespaces and state left by harness processes that died; return their names.

    Cleaners take turns (an exclusive lock): two removing the same lab at once fail each
    other's `ip netns del`, and whoever asked for the clean-up (the demo, which reports what a
    killed demo left) should be the one who does it. `wait=False`, for a harness about to start
    hosts: when another process is cleaning or waiting to, skip (what it removes is gone either
    way), so a waiting cleaner is never overtaken by one that would not have waited."""
    waiting = os.open(WAITING_LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
    fd = os.open(CLEANUP_LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            # Waiters share the first lock; one that will not wait needs it alone, and holds it
            # until done, so nobody starts waiting between its look and its clean-up.
            fcntl.flock(waiting, fcntl.LOCK_SH if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            return []
        return _remove_stale()
    finally:
        os.close(fd)
        os.close(waiting)


def _remove_stale() -> list[str]:
    removed = []
    for name in _netns_names():
        match = _NETNS_NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _kill_netns(name)
            _run(["ip", "netns", "del", name], check=False)
            removed.append(name)
    for state in Path(tempfile.gettempdir()).glob(f"{PREFIX}-*-*"):
        match = re.match(rf"{PREFIX}-(\d+)-", state.name)
        if match and state.is_dir() and not _pid_alive(int(match.group(1))):
            shutil.rmtree(state, ignore_errors=True)
    return removed


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _drop_route_if_last() -> None:
    """Remove the 10.77/16 guard route unless a live manager still holds the lock."""
    fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _run(["ip", "route", "del", "unreachable", NETWORK], check=False)
    except BlockingIOError:
        pass  # another manager still has hosts up
    finally:
        os.close(fd)


def _slot_addresses(slot: int) -> tuple[str, str]:
    base = slot * 4
    prefix = f"10.77.{base // 256}."
    return prefix + str(base % 256 + 1), prefix + str(base % 256 + 2)


class TestHost:
    """One running test host. `user` (root) logs in with the key at `client_key_path`."""

    __test__ = False

    def __init__(self, manager: TestHosts, spec: HostSpec, slot: int, netns: str) -> None:
        self.spec = spec
        self.name = spec.name
        self.netns = netns
        self.slot = slot
        self.gateway, self.address = _slot_addresses(slot)
        self.port = 20000 + slot
        self.user = "root"
        self.interface = "eth0"
        self.client_key_path = str(manager.client_key_path)
        self.client_key = manager.client_key
        self.dir = manager.dir / f"host-{slot}"
        self.log_path = self.dir / "sshd.log"
        self.host_key_line = ""
        self.pid = 0  # sshd, as this machine numbers it
        self._popen: subprocess.Popen[bytes] | None = None
        self._manager = manager

    def __repr__(self) -> str:
        return f"<TestHost {self.name} {self.address}:{self.port} netns={self.netns}>"

    def run_local(
        self, command: str, *, input: str | None = None, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command as root inside the host's namespaces (its /etc, net, PIDs)."""
        enter = ["nsenter", "-t", str(self.pid), "-m", "-u", "-n", "-p", "--"]
        return subprocess.run(
            [*enter, "/bin/sh", "-c", command],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ssh_target(self, **overrides: Any) -> SSHTarget:
        """An SSHTarget for this host: root, the harness key, the host key pinned."""
        from workers.transports.ssh import SSHTarget

        settings: dict[str, Any] = {
            "host": self.address,
            "port": self.port,
            "user": self.user,
            "private_key": self.client_key,
            "host_key": self.host_key_line,
            "connect_timeout": 5.0,
            "banner_timeout": 5.0,
            "auth_timeout": 10.0,
        }
        settings.update(overrides)
        return SSHTarget(**settings)

    def stop(self) -> None:
        """Kill everything in the host and remove its namespace, veth and files (idempotent)."""
        if self._popen is not None:
            # Kill sshd (PID 1 of the host: the kernel then kills the rest of its PID namespace)
            # and let unshare reap it. Killing unshare first would orphan sshd to this machine's
            # init, which may never reap it.
            for pid in _children(self._popen.pid):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            try:
                self._popen.wait(5)
            except subprocess.TimeoutExpired:
                self._popen.kill()  # --kill-child takes sshd along
                self._popen.wait()
        _kill_netns(self.netns)
        _run(["ip", "link", "del", f"{PREFIX}{self.slot}"], check=False)
        _run(["ip", "netns", "del", self.netns], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        # Last: a stop cut short (^C) leaves the host listed for close() to finish.
        self._manager._forget(self)

    def _launch(self) -> None:
        spec = self.spec
        script = [
            "set -e",
            *(f"sysctl -q -w {shlex.quote(f'{k}={v}')}" for k, v in spec.sysctls.items()),
            "mount -t overlay overlay -o "
            f"lowerdir=/etc,upperdir={self.dir}/upper,workdir={self.dir}/work /etc",
            *self._overlay_lines(),
            # A private /run: sshd's privilege separation directory, pid file, sudo's tickets.
            "mount -t tmpfs -o mode=0755,size=16m tmpfs /run",
            "mkdir -m 0755 /run/sshd",
            *(
                f"mount -t tmpfs -o ro,nodev,nosuid,size=4k tmpfs {shlex.quote(path)}"
                for path in hidden_from_hosts()
            ),
            f"hostname {shlex.quote(spec.name)}",
            *self._override_lines(),
            *spec.setup,
            *(
                f"setsid sh -c {shlex.quote(p)} </dev/null >/dev/null 2>&1 &"
                for p in spec.processes
            ),
            f"exec {SSHD} -D -e -f /etc/ssh/sshd_config",
        ]
        command = [
            "ip", "netns", "exec", self.netns,
            "unshare", "--mount", "--uts", "--pid", "--fork", "--mount-proc",
            "--propagation", "private", "--kill-child",
            "sh", "-c", "\n".join(script),
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self._popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a ^C meant for pytest must not kill hosts mid-test
            )

    def overlay_upper(self, path: str) -> Path:
        """The upper directory of one of the spec's overlays: what the host wrote there."""
        return self.dir / f"overlay-{list(self.spec.overlays).index(path)}" / "upper"

    def _overlay_lines(self) -> list[str]:
        """Make each overlay's upper and work directories (the upper root keeps the machine
        directory's mode and owner) and mount it over the machine's directory."""
        lines = []
        for path in self.spec.overlays:
            upper = self.overlay_upper(path)
            work = upper.parent / "work"
            upper.mkdir(parents=True)
            work.mkdir()
            info = os.stat(path)
            os.chown(upper, info.st_uid, info.st_gid)
            upper.chmod(info.st_mode & 0o7777)
            options = f"lowerdir={path},upperdir={upper},workdir={work}"
            lines.append(f"mount -t overlay overlay -o {shlex.quote(options)} {shlex.quote(path)}")
        return lines

    def _override_lines(self) -> list[str]:
        """Write each override's content beside the host and bind it over the real path."""
        lines = []
        for number, (path, content) in enumerate(self.spec.overrides.items()):
            source = self.dir / f"override-{number}"
            source.write_bytes(content.encode() if isinstance(content, str) else content)
            lines.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(path)}")
        return lines

    def _wait_ready(self, timeout: float) -> None:
        assert self._popen is not None
        deadline = time.monotonic() + timeout
        while True:
            if self._popen.poll() is not None:
                raise RuntimeError(f"sshd of {self.name} exited: {self._log_tail()}")
            with socket.socket() as probe:
                # Refused at once until sshd listens: the address is up before sshd starts.
                probe.settimeout(0.2)
                if probe.connect_ex((self.address, self.port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd of {self.name} did not listen: {self._log_tail()}")
            time.sleep(0.005)
        self.pid = _children(self._popen.pid)[0]

    def _log_tail(self) -> str:
        with suppress(OSError):
            return self.log_path.read_text(errors="replace")[-2000:]
        return ""


class TestHosts:
    """Starts and stops test hosts; `close()` (or leaving the `with`) removes them all."""

    __test__ = False

    def __init__(self) -> None:
        reason = unavailable_reason()
        if reason:
            raise HarnessUnavailable(reason)
        cleanup_stale(wait=False)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-{os.getpid()}-"))
        key = ed25519.Ed25519PrivateKey.generate()
        self.client_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ).decode()
        self.client_public_key = _public_line(key, "bwk-client")
        self.client_key_path = self.dir / "client_ed25519"
        self.client_key_path.write_text(self.client_key)
        self.client_key_path.chmod(0o600)
        self._hosts: list[TestHost] = []
        self._lock = threading.Lock()
        self._next_slot = random.randrange(SLOTS)
        self._closed = False
        self._created: set[str] = set()  # every namespace this manager made, for close()
        # Nothing for 10.77/16 may ever leave through the default route, even for a removed host.
        # Every live manager holds LOCK_PATH shared; the last one out removes the route.
        self._route_lock = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._route_lock, fcntl.LOCK_SH)
        _run(["ip", "route", "replace", "unreachable", NETWORK])
        atexit.register(self.close)
        self._previous_sigterm: Any = None
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)

    @property
    def hosts(self) -> list[TestHost]:
        with self._lock:
            return list(self._hosts)

    def start(self, spec: HostSpec, *, timeout: float = 15.0) -> TestHost:
        """Create the namespaces, write the host's /etc, start its sshd, wait for the port."""
        if self._closed:
            raise RuntimeError("the TestHosts manager is closed")
        host = self._allocate(spec)
        try:
            host_key = ed25519.Ed25519PrivateKey.generate()
            host.host_key_line = _public_line(host_key, "")
            _build_overlay(
                host.dir,
                spec,
                host_key=host_key,
                host_key_line=host.host_key_line,
                client_key_line=self.client_public_key,
                port=host.port,
                address=host.address,
                pid_file=f"/run/sshd-{host.netns}.pid",
            )
            _run(
                ["ip", "-batch", "-"],
                input=f"addr add {host.gateway}/30 dev {PREFIX}{host.slot}\n"
                f"link set {PREFIX}{host.slot} up\n",
            )
            _run(
                ["ip", "-n", host.netns, "-batch", "-"],
                input=f"link set lo up\naddr add {host.address}/30 dev {host.interface}\n"
                f"link set {host.interface} up\n",
            )
            host._launch()
            host._wait_ready(timeout)
            return host
        except BaseException:
            host.stop()
            raise

    def start_many(self, specs: Sequence[HostSpec], *, timeout: float = 30.0) -> list[TestHost]:
        """Start several hosts concurrently; all or none."""
        with ThreadPoolExecutor(max_workers=max(1, min(len(specs), 16))) as pool:
            futures = [pool.submit(self.start, spec, timeout=timeout) for spec in specs]
            errors = [f.exception() for f in futures]
        started = [f.result() for f, e in zip(futures, errors, strict=True) if e is None]
        failed = [e for e in errors if e is not None]
        if failed:
            for host in started:
                host.stop()
            raise failed[0]
        return started

    def link(self, a: TestHost, b: TestHost) -> str:
        """Let host `a` reach host `b` (over a veth of their own); return b's address."""
        slot = self._reserve_slot(lambda name: [f"{name}b", "netns", b.netns])
        here, there = _slot_addresses(slot)
        _run(["ip", "link", "set", f"{PREFIX}{slot}", "netns", a.netns])
        _run(
            ["ip", "-n", a.netns, "-batch", "-"],
            input=f"addr add {here}/30 dev {PREFIX}{slot}\nlink set {PREFIX}{slot} up\n"
            f"route add {b.address}/32 via {there}\n",
        )
        _run(
            ["ip", "-n", b.netns, "-batch", "-"],
            input=f"addr add {there}/30 dev {PREFIX}{slot}b\nlink set {PREFIX}{slot}b up\n",
        )
        return b.address

    def close(self) -> None:
        """Stop every host; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(TestHost.stop, self.hosts))
        # Anything a start or stop left half-done (interrupted mid-way) goes too.
        for netns in self._created & set(_netns_names()):
            _kill_netns(netns)
            _run(["ip", "netns", "del", netns], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        fcntl.flock(self._route_lock, fcntl.LOCK_UN)
        os.close(self._route_lock)
        _drop_route_if_last()
        atexit.unregister(self.close)
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)

    def __enter__(self) -> TestHosts:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[TestHost]:
        return iter(self.hosts)

    def _allocate(self, spec: HostSpec) -> TestHost:
        netns: list[str] = []

        def veth_peer(name: str) -> list[str]:
            netns.append(f"{PREFIX}-{os.getpid()}-{name[len(PREFIX) :]}")
            with self._lock:
                self._created.add(netns[-1])
            _run(["ip", "netns", "add", netns[-1]])
            return ["eth0", "netns", netns[-1]]

        def discard() -> None:
            if netns:
                _run(["ip", "netns", "del", netns.pop()], check=False)

        slot = self._reserve_slot(veth_peer, on_conflict=discard)
        host = TestHost(self, spec, slot, netns[-1])
        host.dir.mkdir()
        with self._lock:
            self._hosts.append(host)
        return host

    def _reserve_slot(self, peer: Any, on_conflict: Any = None) -> int:
        """Create veth `bwk<slot>`: the first free slot wins, across processes too."""
        for _ in range(SLOTS):
            with self._lock:
                slot = self._next_slot
                self._next_slot = (slot + 1) % SLOTS
            name = f"{PREFIX}{slot}"
            args = ["ip", "link", "add", name, "type", "veth", "peer", "name", *peer(name)]
            done = subprocess.run(args, capture_output=True, text=True, check=False)
            if done.returncode == 0:
                return slot
            if on_conflict is not None:
                on_conflict()
            if "exists" not in done.stderr:
                raise RuntimeError(f"{shlex.join(args)} failed: {done.stderr.strip()}")
        raise RuntimeError("no free test-host slot")

    def _forget(self, host: TestHost) -> None:
        with self._lock:
            if host in self._hosts:
                self._hosts.remove(host)


def _public_line(key: ed25519.Ed25519PrivateKey, comment: str) -> str:
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{line.decode()} {comment}".strip()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwind through every finally (fixture teardown, close()) instead of dying on the spot.
    raise SystemExit(128 + signum)


__all__ = [
    "HarnessUnavailable",
    "HostSpec",
    "TestHost",
    "TestHosts",
    "TestUser",
    "cleanup_stale",
    "unavailable_reason",
]


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["install"]:
        print("installed:", " ".join(install_missing()) or "nothing (all present)")
    elif sys.argv[1:] == ["cleanup"]:
        print("removed:", " ".join(cleanup_stale()) or "nothing")
        _drop_route_if_last()
    else:
        print(f"usage: python -m {__spec__.name if __spec__ else 'harness'} install|cleanup")
        sys.exit(2)
