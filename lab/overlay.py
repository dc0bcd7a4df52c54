"""A test host's /etc: the overlay's upper directory, written from a HostSpec.

Files the spec names are copied up from the machine's /etc and changed there; the machine's own
/etc is never touched. Accounts (passwd, shadow, group, sudoers) and sshd_config get the lines
the harness needs first.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

if TYPE_CHECKING:
    pass


if TYPE_CHECKING:
    from lab.harness import HostSpec


ETC = Path("/etc")
SSHD_CONFIG = "/etc/ssh/sshd_config"
DEFAULT_SSHD_BODY = """\
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
# Without PAM sshd reads the overlay's shadow itself: nothing else of the machine is involved.
UsePAM no
UseDNS no
X11Forwarding no
MaxStartups 200
MaxSessions 100
Subsystem sftp /usr/lib/openssh/sftp-server
"""


def _check_path(path: str) -> None:
    pure, etc = PurePosixPath(path), PurePosixPath(ETC)
    if not pure.is_absolute() or ".." in pure.parts or pure == etc or not pure.is_relative_to(etc):
        raise ValueError(f"test hosts overlay /etc only; not {path!r}")


def _hash_password(password: str) -> str:
    # On stdin: a test password must not show in a process list either.
    result = subprocess.run(
        ["openssl", "passwd", "-6", "-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


class _Overlay:
    """The upper directory of one host's /etc: what it adds, changes and hides."""

    def __init__(self, upper: Path) -> None:
        self.upper = upper
        upper.mkdir()
        _copy_attributes(ETC, upper)  # the upper root's mode and owner are the merged /etc's

    def path(self, path: str) -> Path:
        return self.upper / PurePosixPath(path).relative_to(ETC)

    def read(self, path: str) -> str:
        for candidate in (self.path(path), Path(path)):
            if candidate.is_file():
                return candidate.read_text()
        return ""

    def write(self, path: str, content: str | bytes, mode: int | None = None) -> None:
        target = self._fresh(path)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
        lower = Path(path)
        if lower.is_file() and not lower.is_symlink():
            _copy_attributes(lower, target)  # /etc/shadow stays root:shadow 0640
        else:
            os.chown(target, 0, 0)
            target.chmod(0o644)
        if mode is not None:
            target.chmod(mode)

    def hide(self, path: str) -> None:
        # An overlayfs whiteout: a 0/0 character device hides the lower file or directory.
        os.mknod(self._fresh(path), stat.S_IFCHR | 0o600, os.makedev(0, 0))

    def chmod(self, path: str, mode: int) -> None:
        self._copy_up(path).chmod(mode)

    def chown(self, path: str, uid: int, gid: int) -> None:
        os.lchown(self._copy_up(path), uid, gid)

    def _fresh(self, path: str) -> Path:
        target = self.path(path)
        self._parents(target)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        return target

    def _parents(self, target: Path) -> None:
        for directory in reversed(target.parents):
            inside = directory.is_relative_to(self.upper) and directory != self.upper
            if inside and not directory.exists():
                directory.mkdir()
                lower = ETC / directory.relative_to(self.upper)
                if lower.is_dir():
                    _copy_attributes(lower, directory)

    def _copy_up(self, path: str) -> Path:
        target, lower = self.path(path), Path(path)
        if target.exists() or target.is_symlink():
            return target
        self._parents(target)
        if lower.is_symlink():
            os.symlink(os.readlink(lower), target)
            st = lower.lstat()
            os.lchown(target, st.st_uid, st.st_gid)
        elif lower.is_dir():
            target.mkdir()
            _copy_attributes(lower, target)
        elif lower.exists():
            shutil.copy2(lower, target)
            _copy_attributes(lower, target)
        else:
            raise FileNotFoundError(f"{path} is neither in the spec's files nor on this machine")
        return target


def _copy_attributes(source: Path, target: Path) -> None:
    st = source.stat()
    os.chown(target, st.st_uid, st.st_gid)
    target.chmod(stat.S_IMODE(st.st_mode))


def _build_overlay(
    directory: Path,
    spec: HostSpec,
    *,
    host_key: ed25519.Ed25519PrivateKey,
    host_key_line: str,
    client_key_line: str,
    port: int,
    address: str,
    pid_file: str,
) -> None:
    """Write the host's /etc changes: accounts, keys, sshd_config, then the spec's own."""
    (directory / "work").mkdir()
    etc = _Overlay(directory / "upper")
    _write_accounts(etc, spec, [client_key_line, *spec.authorized_keys])
    etc.write("/etc/hostname", f"{spec.name}\n")
    etc.write("/etc/hosts", etc.read("/etc/hosts") + f"127.0.1.1\t{spec.name}\n")
    private = host_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    etc.write("/etc/ssh/ssh_host_ed25519_key", private, mode=0o600)
    etc.write("/etc/ssh/ssh_host_ed25519_key.pub", host_key_line + "\n")
    body = spec.files.get(SSHD_CONFIG, DEFAULT_SSHD_BODY)
    body = body.decode() if isinstance(body, bytes) else body
    etc.write(
        SSHD_CONFIG,
        f"# bulwark test host {spec.name}: the harness's lines first (sshd keeps the first)\n"
        f"Port {port}\nListenAddress {address}\nPidFile {pid_file}\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        "AuthorizedKeysFile /etc/bwk/authorized_keys/%u\n\n" + body,
    )
    for path, content in spec.files.items():
        if path != SSHD_CONFIG:
            etc.write(path, content)
    for path in spec.remove:
        etc.hide(path)
    for path, mode in spec.modes.items():
        etc.chmod(path, mode)
    for path, owner in spec.owners.items():
        etc.chown(path, *_resolve_owner(etc, owner))


def _write_accounts(etc: _Overlay, spec: HostSpec, keys: list[str]) -> None:
    # root's login shell becomes /bin/sh: bash would read root's (slow) ~/.bashrc per command.
    passwd = [
        re.sub(r"^(root:[^:]*:0:0:[^:]*:[^:]*):.*$", r"\1:/bin/sh", line)
        for line in etc.read("/etc/passwd").splitlines()
    ]
    shadow = etc.read("/etc/shadow").splitlines()
    group = etc.read("/etc/group").splitlines()
    gshadow = etc.read("/etc/gshadow").splitlines()
    taken = {int(line.split(":")[2]) for line in passwd if line.count(":") >= 6}
    authorized = {"root"}
    for user in spec.users:
        uid = user.uid if user.uid is not None else min(set(range(4000, 5000)) - taken)
        taken.add(uid)
        passwd.append(f"{user.name}:x:{uid}:{uid}::{user.home}:{user.shell}")
        # "*" and not "!": without PAM, sshd refuses even keys for a "!" (locked) account.
        secret = _hash_password(user.password) if user.password else "*"
        shadow.append(f"{user.name}:{secret}:19000:0:99999:7:::")
        group.append(f"{user.name}:x:{uid}:")
        gshadow.append(f"{user.name}:!::")
        if user.sudo is not None:
            rule = "NOPASSWD: ALL" if user.sudo == "nopasswd" else "ALL"
            etc.write(
                f"/etc/sudoers.d/bwk-{user.name}",
                f"{user.name} ALL=(ALL:ALL) {rule}\n",
                mode=0o440,
            )
        if user.authorized:
            authorized.add(user.name)
    for path, lines in (
        ("/etc/passwd", passwd),
        ("/etc/shadow", shadow),
        ("/etc/group", group),
        ("/etc/gshadow", gshadow),
    ):
        etc.write(path, "\n".join(lines) + "\n")
    for name in sorted(authorized):
        etc.write(f"/etc/bwk/authorized_keys/{name}", "\n".join(keys) + "\n")


def _resolve_owner(etc: _Overlay, owner: str | tuple[int, int]) -> tuple[int, int]:
    if isinstance(owner, tuple):
        return owner
    user, _, group = owner.partition(":")
    users = {f[0]: f for f in (line.split(":") for line in etc.read("/etc/passwd").splitlines())}
    groups = {f[0]: f for f in (line.split(":") for line in etc.read("/etc/group").splitlines())}
    uid = int(user) if user.isdigit() else int(users[user][2])
    if not group:
        return uid, int(users[user][3]) if user in users else 0
    return uid, int(group) if group.isdigit() else int(groups[group][2])
