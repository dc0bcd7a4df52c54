"""The `fix.sshd` shorthand expanded: set sshd_config keywords so that `sshd -T` reports them.

sshd keeps the first value it reads, and drop-ins are usually included before the main file's
own lines, so writing the main file alone is not enough. The fix comments the keyword out
wherever it is set (main file and drop-ins, Match blocks included), writes it into its own
drop-in read first (`00-bulwark.conf`), makes sure the main file includes the drop-ins first,
and checks the whole configuration with `sshd -t` before keeping anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DROP_IN = "/etc/ssh/sshd_config.d/00-bulwark.conf"
MAIN = "/etc/ssh/sshd_config"
INCLUDE = "Include /etc/ssh/sshd_config.d/*.conf"

# Shell functions the generated script defines once (used by every sshd step).
SH_FUNCTIONS = f"""\
bulwark_sshd_has() {{ # KEYWORD VALUE: the effective configuration says so
  /usr/sbin/sshd -T 2>/dev/null | grep -qix "$1 $2"
}}
bulwark_sshd_set() {{ # KEYWORD VALUE; undone when sshd -t refuses the result
  backup=$(mktemp -d) || return 1
  mkdir -p /etc/ssh/sshd_config.d
  cp -a {MAIN} /etc/ssh/sshd_config.d "$backup/"
  grep -qx '{INCLUDE}' {MAIN} || sed -i '1i {INCLUDE}' {MAIN}
  for f in {MAIN} /etc/ssh/sshd_config.d/*.conf; do
    [ -f "$f" ] && [ "$f" != {DROP_IN} ] &&
      sed -i "s/^[[:space:]]*$1[[:space:]].*/# bulwark: &/I" "$f"
  done
  touch {DROP_IN} && chmod 600 {DROP_IN} && chown root:root {DROP_IN}
  sed -i "/^[[:space:]]*$1[[:space:]]/Id" {DROP_IN}
  echo "$1 $2" >> {DROP_IN}
  if ! /usr/sbin/sshd -t; then
    echo "sshd -t refused $1 $2: configuration restored" >&2
    cp -a "$backup/sshd_config" {MAIN}
    rm -rf /etc/ssh/sshd_config.d && cp -a "$backup/sshd_config.d" /etc/ssh/
    rm -rf "$backup"
    return 1
  fi
  rm -rf "$backup"
  BULWARK_RELOAD_SSHD=1
}}
"""


def sh_test(settings: Sequence[tuple[str, str]]) -> str:
    return " && ".join(f"bulwark_sshd_has {k} {v}" for k, v in settings)


def sh_fix(settings: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"bulwark_sshd_set {k} {v}" for k, v in settings)


def ansible_tasks(settings: Sequence[tuple[str, str]], label: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = [
        {
            "name": f"{label}: sshd reads its drop-ins first",
            "ansible.builtin.lineinfile": {
                "path": MAIN,
                "line": INCLUDE,
                "insertbefore": "BOF",
            },
            "notify": "bulwark reload sshd",
        }
    ]
    for keyword, value in settings:
        tasks.append(
            {
                "name": f"{label}: {keyword} set elsewhere is commented out",
                "ansible.builtin.shell": (
                    f"for f in {MAIN} /etc/ssh/sshd_config.d/*.conf; do "
                    f'[ -f "$f" ] && [ "$f" != {DROP_IN} ] && '
                    f"grep -qi '^[[:space:]]*{keyword}[[:space:]]' \"$f\" && "
                    f"sed -i 's/^[[:space:]]*{keyword}[[:space:]].*/# bulwark: &/I' \"$f\" && "
                    "echo changed; done; true"
                ),
                "register": "bulwark_out",
                "changed_when": "'changed' in bulwark_out.stdout",
                "notify": "bulwark reload sshd",
            }
        )
        tasks.append(
            {
                "name": f"{label}: {keyword} {value}",
                "ansible.builtin.lineinfile": {
                    "path": DROP_IN,
                    "regexp": f"(?i)^\\s*{keyword}\\s",
                    "line": f"{keyword} {value}",
                    "create": True,
                    "owner": "root",
                    "group": "root",
                    "mode": "0600",
                },
                "notify": "bulwark reload sshd",
            }
        )
    return tasks


ANSIBLE_HANDLER = {
    "name": "bulwark reload sshd",
    "ansible.builtin.shell": (
        "/usr/sbin/sshd -t && { systemctl reload ssh 2>/dev/null || systemctl reload sshd "
        "2>/dev/null || { p=$(/usr/sbin/sshd -T | awk '$1 == \"pidfile\" { print $2 }'); "
        '[ -r "$p" ] && kill -HUP "$(cat "$p")"; }; }'
    ),
}
