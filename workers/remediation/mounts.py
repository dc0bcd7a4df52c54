"""The `fix.mount_options` shorthand expanded: nodev, nosuid, noexec on a mount point.

The option goes into the mount point's /etc/fstab line, so that it holds after a reboot, and
the mounted filesystem is remounted with it now (`mount -o remount,OPTION MOUNTPOINT`). Only
when the line exists: a mount point without one is not a filesystem of its own (or one a
systemd mount unit makes), which the "separate partition" checks report and an operator must
set up; the step then fails, saying so. A mount point that is not mounted now gets the fstab
line only.

The test: every mount of the mount point in the kernel's table (/proc/self/mounts, what the
check reads) and its fstab line carry the option. Mount points and options are checked by the
loader (workers/engine/fixes.py): they are written into shell commands and /etc/fstab.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SH_FUNCTIONS = """\
bulwark_mount_lacks() { # FILE MOUNTPOINT OPTION: a (non-comment) line of FILE for it lacks it
  awk -v mp="$2" -v opt="$3" '$1 !~ /^#/ && $2 == mp && index("," $4 ",", "," opt ",") == 0 \\
    { bad = 1 } END { exit !bad }' "$1" 2>/dev/null
}
bulwark_mount_ok() { # MOUNTPOINT OPTION: mounted and persisted with it
  ! bulwark_mount_lacks /proc/self/mounts "$1" "$2" && ! bulwark_mount_lacks /etc/fstab "$1" "$2"
}
bulwark_mount_set() { # MOUNTPOINT OPTION: added to its fstab line, remounted if mounted
  if ! awk -v mp="$1" '$1 !~ /^#/ && $2 == mp { n++ } END { exit !n }' /etc/fstab 2>/dev/null
  then
    echo "$1 has no line in /etc/fstab: make it a filesystem of its own first" >&2
    return 1
  fi
  if bulwark_mount_lacks /etc/fstab "$1" "$2"; then
    awk -v mp="$1" -v opt="$2" 'BEGIN { OFS = "\\t" }
      $1 !~ /^#/ && $2 == mp && index("," $4 ",", "," opt ",") == 0 {
        if ($4 == "") { $4 = "defaults"; $5 = 0; $6 = 0 }
        $4 = $4 "," opt
      }
      { print }' /etc/fstab > /etc/fstab.bulwark-new &&
      cat /etc/fstab.bulwark-new > /etc/fstab && rm -f /etc/fstab.bulwark-new || return 1
  fi
  if ! bulwark_mount_lacks /proc/self/mounts "$1" "$2"; then return 0; fi
  mount -o "remount,$2" "$1"
}
"""


def _pairs(mounts: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    return [f"{point} {option}" for point, options in mounts for option in options]


def sh_test(mounts: Sequence[tuple[str, Sequence[str]]]) -> str:
    return " && ".join(f"bulwark_mount_ok {pair}" for pair in _pairs(mounts))


def sh_fix(mounts: Sequence[tuple[str, Sequence[str]]]) -> str:
    """One line per option, each only where it is missing (the next one sees the new line)."""
    return "\n".join(
        f"bulwark_mount_ok {pair} || bulwark_mount_set {pair} || return 1"
        for pair in _pairs(mounts)
    )


def ansible_tasks(mounts: Sequence[tuple[str, Sequence[str]]], label: str) -> list[dict[str, Any]]:
    """One task per check running the shell functions above, only when the test fails:
    ansible-core has no module for mount options (ansible.posix.mount is a collection, and it
    would rewrite the whole fstab line from its own arguments)."""
    wanted = ", ".join(f"{option} on {point}" for point, options in mounts for option in options)
    return [
        {
            "name": f"{label}: {wanted}",
            "ansible.builtin.shell": (
                f"{SH_FUNCTIONS}{sh_test(mounts)} && exit 0\n"
                f"bulwark_fix() {{\n{sh_fix(mounts)}\n}}\nbulwark_fix || exit 1\n"
                f"{sh_test(mounts)} || exit 1\necho changed"
            ),
            "register": "bulwark_out",
            "changed_when": "'changed' in bulwark_out.stdout",
        }
    ]
