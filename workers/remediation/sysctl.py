"""The `fix.sysctl` shorthand expanded: a kernel parameter set now and persisted.

The value is written to /etc/sysctl.d/60-bulwark.conf; a line that sets the parameter to
something else in /etc/sysctl.conf or another /etc/sysctl.d file is commented out, since the
file read last would otherwise win at boot. A parameter the kernel does not have (IPv6 turned
off, say) is persisted but not set, and counts as compliant now.

A parameter given a list of values ("1|2|3" here: the check accepts any of them) keeps a live
value that is among them and is persisted with it; otherwise the first is set. A stricter value
that an administrator set is never lowered to the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PERSIST = "/etc/sysctl.d/60-bulwark.conf"

SH_FUNCTIONS = f"""\
bulwark_sysctl_files() {{ ls /etc/sysctl.conf /etc/sysctl.d/*.conf 2>/dev/null; }}
bulwark_sysctl_has() {{ # KEY VALUE: live (when the kernel has it) and persisted, no conflict
  path=/proc/sys/$(echo "$1" | tr . /)
  if [ -e "$path" ] && [ "$(cat "$path")" != "$2" ]; then return 1; fi
  grep -qsx "$1 = $2" {PERSIST} || return 1
  re="^[[:space:]]*$(echo "$1" | sed 's/\\./\\\\./g')[[:space:]]*="
  ! bulwark_sysctl_files | xargs grep -Ehs "$re" | grep -Evq "=[[:space:]]*$2[[:space:]]*$"
}}
bulwark_sysctl_set() {{ # KEY VALUE
  re="^[[:space:]]*$(echo "$1" | sed 's/\\./\\\\./g')[[:space:]]*="
  for f in $(bulwark_sysctl_files); do
    [ "$f" = {PERSIST} ] || sed -i "/$re/{{/=[[:space:]]*$2[[:space:]]*$/!s/^/# bulwark: /}}" "$f"
  done
  touch {PERSIST}
  sed -i "/$re/d" {PERSIST}
  echo "$1 = $2" >> {PERSIST}
  path=/proc/sys/$(echo "$1" | tr . /)
  [ ! -e "$path" ] || sysctl -q -w "$1=$2"
}}
bulwark_sysctl_has_any() {{ # KEY 'V1|V2...': live (when the kernel has it) and persisted, no other
  path=/proc/sys/$(echo "$1" | tr . /)
  if [ -e "$path" ] && ! grep -Eqx "($2)" "$path"; then return 1; fi
  key="$(echo "$1" | sed 's/\\./\\\\./g')"
  grep -Eqsx "$key = ($2)" {PERSIST} || return 1
  re="^[[:space:]]*$key[[:space:]]*="
  ! bulwark_sysctl_files | xargs grep -Ehs "$re" | grep -Evq "=[[:space:]]*($2)[[:space:]]*$"
}}
bulwark_sysctl_set_any() {{ # KEY 'V1|V2...' V1: keep a live value among them, else set V1
  path=/proc/sys/$(echo "$1" | tr . /)
  value=$3
  if [ -e "$path" ] && grep -Eqx "($2)" "$path"; then value=$(cat "$path"); fi
  re="^[[:space:]]*$(echo "$1" | sed 's/\\./\\\\./g')[[:space:]]*="
  for f in $(bulwark_sysctl_files); do
    [ "$f" = {PERSIST} ] && continue
    sed -E -i "/$re/{{/=[[:space:]]*($2)[[:space:]]*$/!s/^/# bulwark: /}}" "$f"
  done
  touch {PERSIST}
  sed -i "/$re/d" {PERSIST}
  echo "$1 = $value" >> {PERSIST}
  [ ! -e "$path" ] || [ "$(cat "$path")" = "$value" ] || sysctl -q -w "$1=$value"
}}
"""


def _has(key: str, value: str) -> str:
    if "|" in value:
        return f"bulwark_sysctl_has_any {key} '{value}'"
    return f"bulwark_sysctl_has {key} {value}"


def _set(key: str, value: str) -> str:
    if "|" in value:
        return f"bulwark_sysctl_set_any {key} '{value}' {value.split('|')[0]}"
    return f"bulwark_sysctl_set {key} {value}"


def sh_test(settings: Sequence[tuple[str, str]]) -> str:
    return " && ".join(_has(k, v) for k, v in settings)


def sh_fix(settings: Sequence[tuple[str, str]]) -> str:
    return "\n".join(_set(k, v) for k, v in settings)


def ansible_tasks(settings: Sequence[tuple[str, str]], label: str) -> list[dict[str, Any]]:
    """One task per check: the shell functions above, run only when a parameter is not yet
    live and persisted. The same steps as the shell script (so both are proven alike); one
    task, not six module calls per parameter, because each Ansible task is a round trip."""
    wanted = ", ".join(f"{key} = {value.replace('|', ' or ')}" for key, value in settings)
    return [
        {
            "name": f"{label}: {wanted}, now and persisted",
            "ansible.builtin.shell": (
                f"{SH_FUNCTIONS}{sh_test(settings)} && exit 0\n{sh_fix(settings)}\necho changed"
            ),
            "register": "bulwark_out",
            "changed_when": "'changed' in bulwark_out.stdout",
        }
    ]
