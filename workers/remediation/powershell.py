"""The PowerShell remediation script for Windows hosts: the same test-then-fix steps as the
shell script; `-Check` is the dry run."""

from __future__ import annotations

from datetime import UTC, datetime

from workers.remediation.plan import Plan


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


HEADER = """\
# Bulwark remediation for {host}: {count} step(s), generated {when}.
# Review it, then run it in an elevated PowerShell. -Check: dry run, nothing changes.
param([switch]$Check)
$ErrorActionPreference = 'Continue'
$script:Failed = 0
$script:Changed = 0
function Invoke-BulwarkStep([string]$Label, [scriptblock]$Test, [scriptblock]$Fix) {{
    if (& $Test) {{ Write-Output "ok       $Label"; return }}
    if ($Check) {{ Write-Output "would    $Label"; $script:Changed++; return }}
    try {{ & $Fix }} catch {{ Write-Warning $_ }}
    if (& $Test) {{ Write-Output "fixed    $Label"; $script:Changed++ }}
    else {{ Write-Warning "FAILED   $Label"; $script:Failed++ }}
}}
"""


def render(plan: Plan) -> str:
    parts = [
        HEADER.format(
            host=plan.host,
            count=sum(1 for s in plan.steps if s.fix and s.fix.powershell),
            when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )
    ]
    for number, step in enumerate(plan.steps, start=1):
        fix = step.fix
        if fix is None or not fix.powershell:
            continue
        parts.append(f"# --- {number}. {step.heading}")
        parts.append(
            f"Invoke-BulwarkStep {_quoted(step.label)} {{\n{fix.powershell_test.strip()}\n}} "
            f"{{\n{fix.powershell.strip()}\n}}\n"
        )
    for step in plan.without_fix:
        parts.append(f"# no automatic fix: {step.heading}: {step.manual or 'none written'}")
    parts.append(
        'if ($Check) { Write-Output "dry run: $script:Changed step(s) would change the host" }\n'
        'else { Write-Output "$script:Changed step(s) changed the host, $script:Failed failed" }\n'
        "exit [int]($script:Failed -gt 0)\n"
    )
    return "\n".join(parts)
