"""The POSIX shell remediation script: one step per failed check, each guarded by its test.

A step runs its fix only when its test fails, then tests again: so a second run changes
nothing, and a fix that did not take is reported, not assumed. `--check` (dry run) reports
what would change and changes nothing. The script never stops at a failed step; its exit code
is 0 when every step ends compliant, 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from workers.remediation import mounts, packages, services, sshd, sysctl
from workers.remediation.plan import Plan, Step


def _commented(text: str) -> str:
    return "\n".join("# " + line if line else "#" for line in text.strip().splitlines())


def _step(number: int, step: Step) -> str:
    """The step's shell text: a test function, a fix function, and the call."""
    fix = step.fix
    assert fix is not None
    tests, bodies = [], []
    if fix.test:
        tests.append(f"{{ {fix.test.strip()}; }}")
        bodies.append(fix.sh)
    if fix.sshd:
        tests.append(sshd.sh_test(fix.sshd))
        bodies.append(sshd.sh_fix(fix.sshd))
    if fix.sysctl:
        tests.append(sysctl.sh_test(fix.sysctl))
        bodies.append(sysctl.sh_fix(fix.sysctl))
    if fix.disable_units or fix.end_processes:
        tests.append(services.sh_test(fix.disable_units, fix.end_processes))
        bodies.append(services.sh_fix(fix.disable_units, fix.end_processes))
    if fix.purge_packages:
        tests.append(packages.sh_test(fix.purge_packages))
        bodies.append(packages.sh_fix(fix.purge_packages))
    if fix.install_packages:
        tests.append(packages.sh_install_test(fix.install_packages))
        bodies.append(packages.sh_install(fix.install_packages))
    # After the installs: the package brings the unit and its init script.
    if fix.enable_units:
        tests.append(services.sh_enable_test(fix.enable_units))
        bodies.append(services.sh_enable(fix.enable_units))
    if fix.mount_options:
        tests.append(mounts.sh_test(fix.mount_options))
        bodies.append(mounts.sh_fix(fix.mount_options))
    name = shlex.quote(step.label)
    lines = [
        f"# --- {number}. {step.heading}",
        f"bulwark_test_{number}() {{\n{_indent(' && '.join(tests))}\n}}",
        f"bulwark_fix_{number}() {{\n{_indent(chr(10).join(bodies))}\n}}",
        f"bulwark_step {name} bulwark_test_{number} bulwark_fix_{number}",
    ]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.strip().splitlines())


HEADER = """\
#!/bin/sh
# Bulwark remediation for {host}: {count} step(s), generated {when}.
# Review it before running it as root. Each step tests first and fixes only what fails.
#   sh {script} --check   dry run: say what would change, change nothing
#   sh {script}           apply
set -u
BULWARK_CHECK=0
case "${{1:-}}" in
  --check|-n) BULWARK_CHECK=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
[ "$(id -u)" -eq 0 ] || [ "$BULWARK_CHECK" -eq 1 ] || {{ echo "run as root" >&2; exit 2; }}
BULWARK_FAILED=0
BULWARK_CHANGED=0
BULWARK_RELOAD_SSHD=0
bulwark_step() {{ # LABEL TEST FIX
  if "$2" >/dev/null 2>&1; then
    echo "ok       $1"
  elif [ "$BULWARK_CHECK" -eq 1 ]; then
    echo "would    $1"
    BULWARK_CHANGED=$((BULWARK_CHANGED + 1))
  elif "$3" && "$2" >/dev/null 2>&1; then
    echo "fixed    $1"
    BULWARK_CHANGED=$((BULWARK_CHANGED + 1))
  else
    echo "FAILED   $1" >&2
    BULWARK_FAILED=$((BULWARK_FAILED + 1))
  fi
}}
"""

FOOTER = """\
if [ "$BULWARK_RELOAD_SSHD" -eq 1 ]; then
  # Only after sshd -t accepted the configuration (bulwark_sshd_set checks each change).
  pidfile=$(/usr/sbin/sshd -T 2>/dev/null | awk '$1 == "pidfile" {{ print $2 }}')
  pidfile=${{pidfile:-/run/sshd.pid}}
  systemctl reload ssh 2>/dev/null || systemctl reload sshd 2>/dev/null ||
    {{ [ -r "$pidfile" ] && kill -HUP "$(cat "$pidfile")"; }} ||
    echo "reload sshd yourself: the new settings apply to new connections after it" >&2
fi
if [ "$BULWARK_CHECK" -eq 1 ]; then
  echo "dry run: $BULWARK_CHANGED step(s) would change the host"
else
  echo "$BULWARK_CHANGED step(s) changed the host, $BULWARK_FAILED failed"
fi
[ "$BULWARK_FAILED" -eq 0 ]
"""


def render(plan: Plan, script: str = "remediate.sh") -> str:
    shell_steps = [s for s in plan.steps if s.fix and s.fix.has_shell]
    parts = [
        HEADER.format(
            host=plan.host,
            count=len(shell_steps),
            when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            script=script,
        )
    ]
    fixes = [s.fix for s in shell_steps if s.fix]
    if any(f.sshd for f in fixes):
        parts.append(sshd.SH_FUNCTIONS)
    if any(f.sysctl for f in fixes):
        parts.append(sysctl.SH_FUNCTIONS)
    if any(f.disable_units or f.end_processes or f.enable_units for f in fixes):
        parts.append(services.SH_FUNCTIONS)
    if any(f.purge_packages or f.install_packages for f in fixes):
        parts.append(packages.SH_FUNCTIONS)
    if any(f.mount_options for f in fixes):
        parts.append(mounts.SH_FUNCTIONS)
    parts += [_step(n, step) + "\n" for n, step in enumerate(shell_steps, start=1)]
    for step in plan.steps:
        if step not in shell_steps:
            parts.append(_commented(f"{step.heading}\n  no shell fix (see the other formats)"))
    if plan.without_fix:
        parts.append("# Failed checks without an automatic fix (see each check's remediation):")
        for step in plan.without_fix:
            parts.append(_commented(f"{step.heading}\n  {step.manual or 'none written'}"))
        parts.append("")
    parts.append(FOOTER.format())
    return "\n".join(parts)
