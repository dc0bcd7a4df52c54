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

# The helpers of the audit_policy and security_policy steps (workers/engine/windows_fixes.py).
# auditpol is asked by GUID, and its /r columns are read by position: the names of
# subcategories and columns are translated on a localized Windows. secedit exports the whole
# policy to a temporary file; a fix writes only the line that differs into a template of its
# own and configures that area alone from a database of its own (the system's secedit.sdb is
# left alone), so no other setting is touched. A failed export makes a test false (the step
# then fails, reported) and stops a fix that reads before it writes (Add-BulwarkUserRight).
HELPERS = r"""function Test-BulwarkAuditPolicy([string]$Guid, [string[]]$Accepted) {
    $lines = @(auditpol.exe /get "/subcategory:$Guid" /r)
    if ($LASTEXITCODE -ne 0) { return $false }
    $row = @($lines | Where-Object { $_ -like "*,$Guid,*" })
    ($row.Count -eq 1) -and ($Accepted -contains ($row[0] -split ',')[4])
}
function Get-BulwarkSecurityPolicy([string]$Section, [string]$Key) {
    $file = [IO.Path]::GetTempFileName()
    try {
        secedit.exe /export /cfg $file /quiet | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "secedit /export exited with $LASTEXITCODE" }
        $in = $false
        foreach ($line in Get-Content -LiteralPath $file) {
            if ($line -match '^\[(.*)\]$') { $in = $Matches[1] -eq $Section }
            elseif ($in -and $line -match '^\s*(\S+?)\s*=\s*(.*?)\s*$') {
                if ($Matches[1] -eq $Key) { return $Matches[2] }
            }
        }
        return $null
    } finally { Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue }
}
function Test-BulwarkSecurityNumber([string]$Section, [string]$Key, [long]$Min, [long]$Max) {
    try { $value = Get-BulwarkSecurityPolicy $Section $Key }
    catch { Write-Warning $_; return $false }
    ($value -match '^\d+$') -and ([long]$value -ge $Min) -and ([long]$value -le $Max)
}
function Get-BulwarkUserRight([string]$Right) {
    $value = Get-BulwarkSecurityPolicy 'Privilege Rights' $Right
    @(if ($value) { $value -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ } })
}
function Test-BulwarkUserRight([string]$Right, [string[]]$Sids, [switch]$Include) {
    try { $held = @(Get-BulwarkUserRight $Right) }
    catch { Write-Warning $_; return $false }
    $missing = @($Sids | Where-Object { $held -notcontains $_ })
    if ($Include) { return $missing.Count -eq 0 }
    ($missing.Count -eq 0) -and ($held.Count -eq $Sids.Count)
}
function Set-BulwarkSecurityPolicy([string]$Area, [string]$Section, [string]$Line) {
    $dir = Join-Path ([IO.Path]::GetTempPath()) ('bulwark-' + [guid]::NewGuid())
    New-Item -ItemType Directory -Path $dir | Out-Null
    try {
        $inf = Join-Path $dir 'fix.inf'
        $template = @('[Unicode]', 'Unicode=yes', "[$Section]", $Line,
                      '[Version]', 'signature="$CHICAGO$"', 'Revision=1')
        Set-Content -LiteralPath $inf -Value $template -Encoding Unicode
        $db = Join-Path $dir 'fix.sdb'
        secedit.exe /configure /db $db /cfg $inf /areas $Area /quiet | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "secedit /configure exited with $LASTEXITCODE" }
    } finally { Remove-Item -LiteralPath $dir -Recurse -Force -ErrorAction SilentlyContinue }
}
function Add-BulwarkUserRight([string]$Right, [string[]]$Sids) {
    $held = @(Get-BulwarkUserRight $Right)
    $all = $held + @($Sids | Where-Object { $held -notcontains $_ })
    Set-BulwarkSecurityPolicy 'USER_RIGHTS' 'Privilege Rights' ("$Right = " + ($all -join ','))
}
"""


def header(host: str, count: int, when: str) -> str:
    """The script's opening: parameters, the step function and the helpers."""
    return HEADER.format(host=host, count=count, when=when) + HELPERS


def render(plan: Plan) -> str:
    parts = [
        header(
            plan.host,
            sum(1 for s in plan.steps if s.fix and s.fix.powershell),
            datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
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
