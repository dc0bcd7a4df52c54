# Bulwark's PowerShell collector: the functions every stage calls (Windows PowerShell 5.1).
# Loaded once, dot-sourced, by the first stage; $B (boundary), $C (cap, bytes) and $K
# (per-command timeout, ms) are set before it. Answers are written as raw bytes to stdout,
# framed "<boundary> <id> <status> <length>`n" + exactly <length> bytes, like the sh collector.
# Nothing here may write to the pipeline: stray output would desynchronise the frames.

$ProgressPreference = 'SilentlyContinue'
$BwkOut = [Console]::OpenStandardOutput()
$BwkUtf8 = New-Object Text.UTF8Encoding($false)
$BwkWow = Test-Path -LiteralPath (Join-Path $env:WINDIR 'SysNative')

function _emit([string]$n, [string]$s, [byte[]]$d) {
    if ($null -eq $d) { $d = New-Object byte[] 0 }
    $h = [Text.Encoding]::ASCII.GetBytes($B + ' ' + $n + ' ' + $s + ' ' + $d.Length + "`n")
    $BwkOut.Write($h, 0, $h.Length)
    if ($d.Length -gt 0) { $BwkOut.Write($d, 0, $d.Length) }
    $BwkOut.Flush()
}

# Emit a MemoryStream's bytes, cut at cap + 1 (one byte over tells Python "truncated").
function _emitms([string]$n, [string]$s, [IO.MemoryStream]$ms) {
    if ($ms.Length -gt $C + 1) { $ms.SetLength($C + 1) }
    _emit $n $s $ms.ToArray()
}

# Request text that cannot travel as a quoted literal comes as base64 of its UTF-8.
function _s([string]$b) { $BwkUtf8.GetString([Convert]::FromBase64String($b)) }

function _b64([string]$t) { [Convert]::ToBase64String($BwkUtf8.GetBytes($t)) }

# %VAR% on the whole text, as the agent does; the 32-bit agent's SysNative is System32 here.
function _x([string]$t) {
    $t = [Environment]::ExpandEnvironmentVariables($t)
    if (-not $BwkWow) { $t = $t -replace '(?i)\\SysNative\\', '\System32\' }
    $t
}

# Why an operation failed: 'missing' or 'denied' (anything unexpected counts as denied).
function _why($err) {
    $x = $err.Exception
    while ($null -ne $x) {
        if ($x -is [IO.FileNotFoundException] -or $x -is [IO.DirectoryNotFoundException]) {
            return 'missing'
        }
        if ($x -is [UnauthorizedAccessException] -or $x -is [Security.SecurityException]) {
            return 'denied'
        }
        $x = $x.InnerException
    }
    'denied'
}

function _readcap([string]$p, [IO.MemoryStream]$ms) {
    $share = [IO.FileShare]::ReadWrite -bor [IO.FileShare]::Delete
    $fs = [IO.File]::Open($p, [IO.FileMode]::Open, [IO.FileAccess]::Read, $share)
    try {
        $buf = New-Object byte[] 65536
        while ($ms.Length -le $C) {
            $want = [int][Math]::Min(65536, $C + 1 - $ms.Length)
            $got = $fs.Read($buf, 0, $want)
            if ($got -le 0) { break }
            $ms.Write($buf, 0, $got)
        }
    } finally { $fs.Dispose() }
}

# f: stat a path (symlinks followed when read), read its content when asked.
function _f([string]$n, [string]$p, [int]$want) {
    $p = _x $p
    try { $a = [IO.File]::GetAttributes($p) } catch { _emit $n (_why $_) $null; return }
    if ($a -band [IO.FileAttributes]::Directory) { _emit $n 'directory' $null; return }
    if ($a -band [IO.FileAttributes]::Device) { _emit $n 'other' $null; return }
    if (-not $want) { _emit $n 'regular' $null; return }
    $ms = New-Object IO.MemoryStream
    try { _readcap $p $ms } catch { _emit $n (_why $_) $null; return }
    _emitms $n 'regular' $ms
}

function _rec([IO.MemoryStream]$ms, [string]$tag, [string]$path) {
    $b = $BwkUtf8.GetBytes($tag + $path)
    $ms.Write($b, 0, $b.Length)
    $ms.WriteByte(0)
}

# d: walk a tree like `find -H DIR ! -type d`: reparse points below the top are listed, never
# entered. Records are <L|N><F|O><path> NUL: L a reparse point, F resolves to a regular file.
function _d([string]$n, [string]$p) {
    $p = _x $p
    try { $a = [IO.File]::GetAttributes($p) } catch { _emit $n 'missing' $null; return }
    if (-not ($a -band [IO.FileAttributes]::Directory)) { _emit $n 'other' $null; return }
    $ms = New-Object IO.MemoryStream
    $errors = $false
    $stack = New-Object Collections.Stack
    $stack.Push((New-Object IO.DirectoryInfo($p)))
    while ($stack.Count -gt 0 -and $ms.Length -le $C) {
        $dir = $stack.Pop()
        try { $items = $dir.GetFileSystemInfos() } catch { $errors = $true; continue }
        foreach ($i in $items) {
            $link = [bool]($i.Attributes -band [IO.FileAttributes]::ReparsePoint)
            if ($i -is [IO.DirectoryInfo]) {
                if ($link) { _rec $ms 'LO' $i.FullName } else { $stack.Push($i) }
                continue
            }
            $kind = 'F'
            if ($link) {
                try { [IO.File]::OpenRead($i.FullName).Dispose() } catch { $kind = 'O' }
                _rec $ms ('L' + $kind) $i.FullName
            } else { _rec $ms ('N' + $kind) $i.FullName }
        }
    }
    if ($errors) { _emitms $n 'walk_errors' $ms } else { _emitms $n 'ok' $ms }
}

# Copy what a finished read task brought, up to the cap; $null when the stream ended.
function _take($task, [IO.Stream]$stream, [byte[]]$buf, [IO.MemoryStream]$ms) {
    $got = 0
    try { $got = $task.Result } catch { $got = 0 }
    if ($got -le 0) { return $null }
    $room = $C + 1 - $ms.Length
    if ($room -gt 0) { $ms.Write($buf, 0, [int][Math]::Min($got, $room)) }
    $stream.ReadAsync($buf, 0, $buf.Length)
}

# Run a command line as CreateProcess would (no cmd.exe): stdin closed, stdout and stderr
# merged in arrival order, capped, killed with its children after $K ms. Returns a hashtable
# (s = frame status, d = output) so no array is unrolled on the way out.
function _run([string]$line) {
    $line = _x $line
    if ($line.StartsWith('"')) {
        $end = $line.IndexOf('"', 1)
        if ($end -lt 0) { $exe = $line.Substring(1); $rest = '' }
        else { $exe = $line.Substring(1, $end - 1); $rest = $line.Substring($end + 1) }
    } else {
        $cut = $line.IndexOfAny([char[]]@(' ', "`t"))
        if ($cut -lt 0) { $exe = $line; $rest = '' }
        else { $exe = $line.Substring(0, $cut); $rest = $line.Substring($cut + 1) }
    }
    $psi = New-Object Diagnostics.ProcessStartInfo
    $psi.FileName = $exe
    $psi.Arguments = $rest.TrimStart()
    $psi.UseShellExecute = $false
    $psi.CreateNoWindow = $true
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    try { $proc = [Diagnostics.Process]::Start($psi) } catch {
        return @{ s = 'noexec'; d = (New-Object IO.MemoryStream) }
    }
    $proc.StandardInput.Close()
    $ms = New-Object IO.MemoryStream
    $so = $proc.StandardOutput.BaseStream
    $se = $proc.StandardError.BaseStream
    $bo = New-Object byte[] 65536
    $be = New-Object byte[] 65536
    $to = $so.ReadAsync($bo, 0, $bo.Length)
    $te = $se.ReadAsync($be, 0, $be.Length)
    $deadline = [DateTime]::UtcNow.AddMilliseconds($K)
    $late = $false
    while ($null -ne $to -or $null -ne $te) {
        $left = ($deadline - [DateTime]::UtcNow).TotalMilliseconds
        if ($left -le 0) { $late = $true; break }
        $open = New-Object Collections.Generic.List[Threading.Tasks.Task]
        if ($null -ne $to) { $open.Add($to) }
        if ($null -ne $te) { $open.Add($te) }
        $wait = [int][Math]::Min($left, 1000)
        $null = [Threading.Tasks.Task]::WaitAny($open.ToArray(), $wait)
        if ($null -ne $to -and $to.IsCompleted) { $to = _take $to $so $bo $ms }
        if ($null -ne $te -and $te.IsCompleted) { $te = _take $te $se $be $ms }
    }
    if (-not $late) {
        $left = ($deadline - [DateTime]::UtcNow).TotalMilliseconds
        $late = -not $proc.WaitForExit([int][Math]::Max($left, 1))
    }
    if ($late) {
        try { $null = & taskkill.exe /T /F /PID $proc.Id 2>&1 } catch { }
        try { $proc.Kill() } catch { }
        return @{ s = 'timeout'; d = $ms }
    }
    $code = [BitConverter]::ToUInt32([BitConverter]::GetBytes([int]$proc.ExitCode), 0)
    @{ s = ('rc=' + $code); d = $ms }
}

# c: one command line, exactly as the rule wrote it.
function _c([string]$n, [string]$line) {
    $r = _run $line
    _emitms $n $r.s $r.d
}

# The local security policy as secedit exports it (INF text, sent as UTF-8).
function _sec([string]$n) {
    $f = Join-Path $env:TEMP ('bwk-' + [guid]::NewGuid().ToString('N') + '.inf')
    try {
        $r = _run ('secedit.exe /export /cfg "' + $f + '" /quiet')
        if ($r.s -ne 'rc=0' -or -not (Test-Path -LiteralPath $f)) { _emitms $n $r.s $r.d; return }
        $ms = New-Object IO.MemoryStream
        $b = $BwkUtf8.GetBytes([IO.File]::ReadAllText($f))
        $ms.Write($b, 0, $b.Length)
        _emitms $n 'rc=0' $ms
    } finally { Remove-Item -LiteralPath $f -Force -ErrorAction SilentlyContinue }
}

# p: every process: "<pid> <image path or name>" lines, "=", "<pid> <command line>" lines.
function _p([string]$n) {
    try { $all = @(Get-CimInstance -ClassName Win32_Process -ErrorAction Stop) } catch {
        _emit $n 'error' $null
        return
    }
    $names = New-Object Text.StringBuilder
    $lines = New-Object Text.StringBuilder
    foreach ($q in $all) {
        $name = [string]$q.ExecutablePath
        if (-not $name) { $name = [string]$q.Name }
        $cmd = [string]$q.CommandLine
        if (-not $cmd) { $cmd = $name }
        $null = $names.Append([string]$q.ProcessId + ' ' + ($name -replace '[\r\n]', ' ') + "`n")
        $null = $lines.Append([string]$q.ProcessId + ' ' + ($cmd -replace '[\r\n]', ' ') + "`n")
    }
    $ms = New-Object IO.MemoryStream
    $b = $BwkUtf8.GetBytes($names.ToString() + "=`n" + $lines.ToString())
    $ms.Write($b, 0, $b.Length)
    _emitms $n 'ok' $ms
}

# A registry value's bytes as the answer encoding says (see workers/engine/windows.py).
function _regdata($kind, $v) {
    if ($null -eq $v) { return [Convert]::ToBase64String((New-Object byte[] 0)) }
    switch ([string]$kind) {
        'String' { return _b64 ([string]$v) }
        'ExpandString' { return _b64 ([string]$v) }
        'MultiString' { return _b64 ([string]::Join([string][char]0, [string[]]$v)) }
        'DWord' { return [Convert]::ToBase64String([BitConverter]::GetBytes([int]$v)) }
        'QWord' { return [Convert]::ToBase64String([BitConverter]::GetBytes([long]$v)) }
    }
    [Convert]::ToBase64String([byte[]]$v)
}

$BwkKinds = @{
    String = 'REG_SZ'; ExpandString = 'REG_EXPAND_SZ'; MultiString = 'REG_MULTI_SZ'
    DWord = 'REG_DWORD'; QWord = 'REG_QWORD'; Binary = 'REG_BINARY'; None = 'REG_NONE'
}

# r: one key in the 64-bit view, then the 32-bit view (docs/policy-format.md §4.5).
function _r([string]$n, [string]$hive, [string]$sub) {
    $sub = _x $sub
    $out = New-Object Text.StringBuilder
    foreach ($view in @('64', '32')) {
        $state = 'missing'
        $part = New-Object Text.StringBuilder
        try {
            $rv = [Microsoft.Win32.RegistryView]::Registry32
            if ($view -eq '64') { $rv = [Microsoft.Win32.RegistryView]::Registry64 }
            $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]$hive, $rv)
            $key = $base
            if ($sub) { $key = $base.OpenSubKey($sub, $false) }
            if ($null -ne $key) {
                $opt = [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames
                foreach ($name in $key.GetValueNames()) {
                    try {
                        $kind = $key.GetValueKind($name)
                        $type = $BwkKinds[[string]$kind]
                        if (-not $type) { $type = 'REG_UNKNOWN' }
                        $data = _regdata $kind $key.GetValue($name, $null, $opt)
                    } catch { $type = 'REG_UNKNOWN'; $data = '' }
                    $null = $part.Append("V $view $type " + (_b64 $name) + ' ' + $data + "`n")
                }
                foreach ($s in $key.GetSubKeyNames()) {
                    $null = $part.Append("K $view " + (_b64 $s) + "`n")
                }
                $key.Close()
                $state = 'found'
                $null = $out.Append($part.ToString())
            }
        } catch { $state = 'denied'; if ((_why $_) -eq 'missing') { $state = 'missing' } }
        $null = $out.Append("S $view $state`n")
    }
    $ms = New-Object IO.MemoryStream
    $b = [Text.Encoding]::ASCII.GetBytes($out.ToString())
    $ms.Write($b, 0, $b.Length)
    _emitms $n 'ok' $ms
}
