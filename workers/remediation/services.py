"""The `fix.disable_units` and `fix.end_processes` shorthands expanded: a service not in use.

The units are stopped (when systemd runs the host), disabled and masked, so that neither boot
nor another unit nor a socket starts them again; a unit whose file was written into
/etc/systemd/system itself cannot be masked (`systemctl mask` would have to replace it) and
stays disabled. A unit the host does not have is left alone. Then any process still running
under one of the daemon names (started outside systemd) gets SIGTERM, and SIGKILL if it has
not ended within ten seconds.

The test is the check's own: no unit enabled (`systemctl is-enabled`), no process of that
name (`ps -o comm`). Unit and process names are validated by the loader (workers/engine/fixes.py)
because they are written into shell commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

SH_FUNCTIONS = """\
bulwark_units_off() { # UNIT...: none of them enabled
  for u in "$@"; do
    case "$(systemctl is-enabled "$u" 2>/dev/null)" in enabled|enabled-runtime) return 1 ;; esac
  done
}
bulwark_units_disable() { # UNIT...: those the host has stopped, disabled, masked
  found=
  for u in "$@"; do
    [ -z "$(systemctl is-enabled "$u" 2>/dev/null)" ] || found="$found $u"
  done
  [ -n "$found" ] || return 0
  if [ -d /run/systemd/system ]; then systemctl stop $found || return 1; fi
  for u in $found; do
    case "$(systemctl is-enabled "$u" 2>/dev/null)" in
      enabled|enabled-runtime) systemctl disable --quiet "$u" || return 1 ;;
    esac
    [ -e "/etc/systemd/system/$u" ] || [ -L "/etc/systemd/system/$u" ] ||
      systemctl mask --quiet "$u" || return 1
  done
}
bulwark_running() { ps -e -o comm= | grep -Fqx "$1"; }
bulwark_processes_off() { # NAME...: no process of these names
  for p in "$@"; do ! bulwark_running "$p" || return 1; done
}
bulwark_processes_end() { # NAME...: SIGTERM, ten seconds to end, then SIGKILL
  for p in "$@"; do
    bulwark_running "$p" || continue
    pkill -x "$p"
    n=0
    while bulwark_running "$p" && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    ! bulwark_running "$p" || pkill -KILL -x "$p"
  done
}
"""


def sh_test(units: Sequence[str], processes: Sequence[str]) -> str:
    parts = []
    if units:
        parts.append(f"bulwark_units_off {' '.join(units)}")
    if processes:
        parts.append(f"bulwark_processes_off {' '.join(processes)}")
    return " && ".join(parts)


def sh_fix(units: Sequence[str], processes: Sequence[str]) -> str:
    lines = []
    if units:
        lines.append(f"bulwark_units_disable {' '.join(units)}")
    if processes:
        lines.append(f"bulwark_processes_end {' '.join(processes)}")
    return "\n".join(lines)


def ansible_tasks(
    units: Sequence[str], processes: Sequence[str], label: str
) -> list[dict[str, Any]]:
    """One task per check running the shell functions above, only when the test fails: the
    same steps as the shell script (so one proof covers both). ansible.builtin.systemd_service
    would need a running systemd to ask, and no module ends a process by name."""
    wanted = ", ".join([*(f"{u} off" for u in units), *(f"no {p} process" for p in processes)])
    return [
        {
            "name": f"{label}: {wanted}",
            "ansible.builtin.shell": (
                f"{SH_FUNCTIONS}{sh_test(units, processes)} && exit 0\n"
                f"{sh_fix(units, processes)}\n{sh_test(units, processes)} || exit 1\necho changed"
            ),
            "register": "bulwark_out",
            "changed_when": "'changed' in bulwark_out.stdout",
        }
    ]
