"""The `fix.purge_packages` shorthand expanded: Debian packages that must not be installed.

The installed ones are purged together with `dpkg --purge`, not apt-get: apt-get would also
remove every package that depends on them, a decision the operator must make; dpkg refuses
instead ("dependency problems prevent removal"), and the step is reported as failed with
dpkg's message. The test is the check's own: dpkg-query reports none of them in an installed
state (config-files, what a purge leaves of a removed package, is not installed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

INSTALLED = "installed|unpacked|half-installed|half-configured|triggers-awaited|triggers-pending"

SH_FUNCTIONS = f"""\
bulwark_installed() {{ # PACKAGE: dpkg has it in an installed state
  dpkg-query -W -f '${{db:Status-Status}}\\n' "$1" 2>/dev/null | grep -Eqx '{INSTALLED}'
}}
bulwark_packages_absent() {{ # PACKAGE...: none installed
  for p in "$@"; do ! bulwark_installed "$p" || return 1; done
}}
bulwark_packages_purge() {{ # PACKAGE...: the installed ones purged in one dpkg run
  found=
  for p in "$@"; do ! bulwark_installed "$p" || found="$found $p"; done
  [ -z "$found" ] || DEBIAN_FRONTEND=noninteractive dpkg --purge $found
}}
"""


def sh_test(packages: Sequence[str]) -> str:
    return f"bulwark_packages_absent {' '.join(packages)}"


def sh_fix(packages: Sequence[str]) -> str:
    return f"bulwark_packages_purge {' '.join(packages)}"


def ansible_tasks(packages: Sequence[str], label: str) -> list[dict[str, Any]]:
    """One task per check running the shell functions above, only when the test fails: the
    same dpkg steps as the shell script. ansible.builtin.apt (state: absent) runs apt-get,
    which removes the packages' dependents too."""
    return [
        {
            "name": f"{label}: {', '.join(packages)} not installed",
            "ansible.builtin.shell": (
                f"{SH_FUNCTIONS}{sh_test(packages)} && exit 0\n{sh_fix(packages)}\n"
                f"{sh_test(packages)} || exit 1\necho changed"
            ),
            "register": "bulwark_out",
            "changed_when": "'changed' in bulwark_out.stdout",
        }
    ]
