"""The `fix.purge_packages` and `fix.install_packages` shorthands expanded: Debian packages
that must not be installed, and packages that must be.

The installed ones are purged together with `dpkg --purge`, not apt-get: apt-get would also
remove every package that depends on them, a decision the operator must make; dpkg refuses
instead ("dependency problems prevent removal"), and the step is reported as failed with
dpkg's message. The test is the check's own: dpkg-query reports none of them in an installed
state (config-files, what a purge leaves of a removed package, is not installed).

The missing ones of the packages a check wants are installed together by apt-get (with their
dependencies, without recommends), after `apt-get update`, never interactively: a changed
configuration file the host already has is kept (--force-confold). Whether the package's
daemon starts is the host's policy (policy-rc.d), as with any apt-get install.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
bulwark_packages_present() {{ # PACKAGE...: all installed
  for p in "$@"; do bulwark_installed "$p" || return 1; done
}}
bulwark_packages_install() {{ # PACKAGE...: the missing ones installed in one apt-get run
  missing=
  for p in "$@"; do bulwark_installed "$p" || missing="$missing $p"; done
  [ -n "$missing" ] || return 0
  # A failed update (no network) leaves the lists apt has: the install says if they lack one.
  DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    echo "apt-get update failed: installing from the package lists the host has" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing
}}
"""


def sh_test(packages: Sequence[str]) -> str:
    return f"bulwark_packages_absent {' '.join(packages)}"


def sh_fix(packages: Sequence[str]) -> str:
    return f"bulwark_packages_purge {' '.join(packages)}"


def sh_install_test(packages: Sequence[str]) -> str:
    return f"bulwark_packages_present {' '.join(packages)}"


def sh_install(packages: Sequence[str]) -> str:
    return f"bulwark_packages_install {' '.join(packages)}"


def ansible_tasks(packages: Sequence[str], label: str) -> list[dict[str, Any]]:
    """One task per check running the shell functions above, only when the test fails: the
    same dpkg steps as the shell script. ansible.builtin.apt (state: absent) runs apt-get,
    which removes the packages' dependents too."""
    return [_task(f"{label}: {', '.join(packages)} not installed", sh_test, sh_fix, packages)]


def ansible_install_tasks(packages: Sequence[str], label: str) -> list[dict[str, Any]]:
    """The same for packages to install: the shell script's apt-get steps, so one proof covers
    both (ansible.builtin.apt would also need python3-apt on the host)."""
    return [
        _task(f"{label}: {', '.join(packages)} installed", sh_install_test, sh_install, packages)
    ]


def _task(
    name: str,
    test: Callable[[Sequence[str]], str],
    fix: Callable[[Sequence[str]], str],
    packages: Sequence[str],
) -> dict[str, Any]:
    return {
        "name": name,
        "ansible.builtin.shell": (
            f"{SH_FUNCTIONS}{test(packages)} && exit 0\n{fix(packages)}\n"
            f"{test(packages)} || exit 1\necho changed"
        ),
        "register": "bulwark_out",
        "changed_when": "'changed' in bulwark_out.stdout",
    }
