"""The `fix.disable_units` and `fix.end_processes` shorthands expanded: a service not in use;
and `fix.enable_units`: a service that must be enabled and running.

The units are stopped (when systemd runs the host), disabled and masked, so that neither boot
nor another unit nor a socket starts them again; a unit whose file was written into
/etc/systemd/system itself cannot be masked (`systemctl mask` would have to replace it) and
stays disabled. A unit the host does not have is left alone. Then any process still running
under one of the daemon names (started outside systemd) gets SIGTERM, and SIGKILL if it has
not ended within ten seconds.

The test is the check's own: no unit enabled (`systemctl is-enabled`), no process of that
name (`ps -o comm`). Unit and process names are validated by the loader (workers/engine/fixes.py)
because they are written into shell commands.

A unit to enable is unmasked if masked and enabled (`systemctl` does both offline, on the unit
files and links), then started unless its process already runs: by `systemctl start` where
systemd runs the host, otherwise by the package's init script through `service NAME start`
(what Debian itself does without systemd, in a container or a chroot). Where neither exists the
step fails and says why: a unit that is enabled but not running does not pass the check, and a
fix must not claim it does. The test is the check's own: `systemctl is-enabled` says `enabled`
and a process of the name runs (`ps -o comm`).
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
bulwark_unit_on() { # UNIT PROCESS: enabled, and its process running
  [ "$(systemctl is-enabled "$1" 2>/dev/null)" = enabled ] && bulwark_running "$2"
}
bulwark_unit_enable() { # UNIT PROCESS: unmasked, enabled, started unless its process runs
  case "$(systemctl is-enabled "$1" 2>/dev/null)" in
    "") echo "$1: the host has no such unit (is its package installed?)" >&2; return 1 ;;
    masked|masked-runtime) systemctl unmask --quiet "$1" || return 1 ;;
  esac
  [ "$(systemctl is-enabled "$1" 2>/dev/null)" = enabled ] ||
    systemctl enable --quiet "$1" || return 1
  ! bulwark_running "$2" || return 0
  script="${1%.service}"
  if [ -d /run/systemd/system ]; then
    systemctl start "$1" || return 1
  elif [ -x "/etc/init.d/$script" ] && command -v service >/dev/null; then
    service "$script" start || return 1
  else
    echo "$1: cannot start it: systemd does not run this host and there is no" \
      "/etc/init.d/$script to start it with" >&2
    return 1
  fi
  n=0
  while ! bulwark_running "$2" && [ "$n" -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
  bulwark_running "$2" || { echo "$1 was started, but no $2 process runs" >&2; return 1; }
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


def sh_enable_test(units: Sequence[tuple[str, str]]) -> str:
    return " && ".join(f"bulwark_unit_on {u} {p}" for u, p in units)


def sh_enable(units: Sequence[tuple[str, str]], stop: str = "return 1") -> str:
    """Each unit in turn; the first that cannot be enabled or started ends the fix (`stop`:
    `return 1` in the script's fix function, `exit 1` in an Ansible task)."""
    return "\n".join(f"bulwark_unit_enable {u} {p} || {stop}" for u, p in units)


def ansible_enable_tasks(units: Sequence[tuple[str, str]], label: str) -> list[dict[str, Any]]:
    """The shell functions above in one task, only when the test fails: the same steps as the
    shell script. ansible.builtin.systemd_service needs a running systemd to start a unit, and
    ansible.builtin.service would pick the init script only where systemd is absent, without
    checking the process the check looks at."""
    wanted = ", ".join(f"{u} enabled, {p} running" for u, p in units)
    test = sh_enable_test(units)
    return [
        {
            "name": f"{label}: {wanted}",
            "ansible.builtin.shell": (
                f"{SH_FUNCTIONS}{test} && exit 0\n{sh_enable(units, 'exit 1')}"
                f"\n{test} || exit 1\necho changed"
            ),
            "register": "bulwark_out",
            "changed_when": "'changed' in bulwark_out.stdout",
        }
    ]
