# Installs the built setup .exe silently for this user, checks what it put where, runs the installed
# `gravity-desk serve` and calls /v1/models with the key, then uninstalls and checks what is left.
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\smoke_test.ps1 [-Setup dist\gravity-desk-X-setup.exe]
#
# With CI=true it also checks that uninstalling keeps %LOCALAPPDATA%\gravity-desk and that /DELETEUSERDATA removes
# it (that is the real data folder, so only on a throw-away CI machine).
[CmdletBinding()]
param([string]$Setup = "")

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
$InstallDir = Join-Path $env:LOCALAPPDATA "Programs\Gravity Desk"
$Exe = Join-Path $InstallDir "gravity-desk.exe"
$Cli = Join-Path $InstallDir "gravity-desk-cli.exe"  # the console twin for terminals
$RunKey = "HKCU:\Software\Microsoft\Windows\CurrentVersion\Run"
$RunValue = "Gravity Desk"  # core/autostart.py RUN_VALUE
$DataDir = Join-Path $env:LOCALAPPDATA "gravity-desk"
$Shortcut = Join-Path $env:APPDATA "Microsoft\Windows\Start Menu\Programs\Gravity Desk.lnk"

function Assert-True([bool]$Condition, [string]$Message) {
    if (-not $Condition) { throw "FAILED: $Message" }
    Write-Host "ok: $Message"
}

function Get-RunValue {
    $key = Get-ItemProperty -Path $RunKey -ErrorAction SilentlyContinue
    if ($key -and ($key.PSObject.Properties.Name -contains $RunValue)) { return $key.$RunValue }
    return $null
}

function Install-App([string]$Tasks) {
    $log = Join-Path $env:TEMP "gravity-desk-setup.log"
    $arguments = @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/CURRENTUSER", "/TASKS=$Tasks", "/LOG=`"$log`"")
    $process = Start-Process -FilePath $Setup -ArgumentList $arguments -Wait -PassThru
    if ($process.ExitCode -ne 0) {
        Get-Content $log -ErrorAction SilentlyContinue | Write-Host
        throw "setup exited with $($process.ExitCode)"
    }
}

function Uninstall-App([string[]]$Extra = @()) {
    $uninstaller = Join-Path $InstallDir "unins000.exe"
    $log = Join-Path $env:TEMP "gravity-desk-uninstall.log"
    Remove-Item $log -ErrorAction SilentlyContinue
    $arguments = @("/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/LOG=`"$log`"") + $Extra
    Start-Process -FilePath $uninstaller -ArgumentList $arguments -Wait | Out-Null
    # unins000.exe returns once it has started its second phase (a copy run from %TEMP%, so that it can delete
    # itself); that copy does the work, user data last. It is done when its log is closed.
    $deadline = (Get-Date).AddSeconds(120)
    while (-not ((Test-Path $log) -and (Select-String -Path $log -Pattern "Log closed." -SimpleMatch -Quiet -ErrorAction SilentlyContinue))) {
        if ((Get-Date) -gt $deadline) {
            Get-Content $log -ErrorAction SilentlyContinue | Write-Host
            throw "the uninstaller did not finish within 120 s"
        }
        Start-Sleep -Milliseconds 250
    }
}

function Get-FreePort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    $port = $listener.LocalEndpoint.Port
    $listener.Stop()
    return $port
}

function Test-Serve {
    # Not $home: that is PowerShell's read-only $HOME (variable names ignore case).
    $dataHome = Join-Path $env:TEMP ("gravity-desk-smoke-" + [guid]::NewGuid())
    New-Item -ItemType Directory -Path $dataHome | Out-Null
    $env:GRAVITY_DESK_HOME = $dataHome
    $env:GRAVITY_DESK_KEYRING = "file"
    $port = Get-FreePort
    $started = Get-Date
    $server = Start-Process -FilePath $Cli -ArgumentList @("serve", "--port", "$port") -PassThru -WindowStyle Hidden
    try {
        $deadline = $started.AddSeconds(60)
        $models = $null
        while (-not $models -and (Get-Date) -lt $deadline) {
            Start-Sleep -Milliseconds 200
            if ($server.HasExited) { throw "FAILED: the installed gravity-desk serve exited with $($server.ExitCode)" }
            $config = Join-Path $dataHome "config.toml"
            if (-not (Test-Path $config)) { continue }
            $match = Select-String -Path $config -Pattern '"(sk-[^"]+)"' | Select-Object -First 1
            if (-not $match) { continue }
            $key = $match.Matches[0].Groups[1].Value
            try {
                $models = Invoke-RestMethod -Uri "http://127.0.0.1:$port/v1/models" -Headers @{ Authorization = "Bearer $key" }
            } catch {
                $models = $null  # not listening yet
            }
        }
        Assert-True ($null -ne $models -and $models.object -eq "list") "/v1/models answers with the generated key"
        Write-Host ("first answer {0:N1} s after start" -f ((Get-Date) - $started).TotalSeconds)
        # Command-line use: the console twin's output can be captured and its exit code read, and the windowed
        # exe writes to a redirected stdout instead of borrowing the console for it (gravity_desk._attach_console).
        foreach ($program in @($Cli, $Exe)) {
            $json = & $program accounts list --json | Out-String
            Assert-True ($LASTEXITCODE -eq 0) "$(Split-Path $program -Leaf) accounts list exits with 0"
            Assert-True ($json.Trim() -eq "[]") "$(Split-Path $program -Leaf) accounts list --json can be captured"
        }
    } finally {
        if (-not $server.HasExited) { Stop-Process -Id $server.Id -Force }
        Remove-Item Env:GRAVITY_DESK_HOME, Env:GRAVITY_DESK_KEYRING -ErrorAction SilentlyContinue
    }
}

if (-not $Setup) {
    $found = Get-ChildItem (Join-Path $Root "dist") -Filter "gravity-desk-*-setup.exe" | Sort-Object LastWriteTime | Select-Object -Last 1
    if (-not $found) { throw "no dist\gravity-desk-*-setup.exe: run packaging\windows\build.ps1 first" }
    $Setup = $found.FullName
}
Write-Host "== $Setup ($([math]::Round((Get-Item $Setup).Length / 1MB, 1)) MB)"

Install-App "startup"
Assert-True (Test-Path $Exe) "installed per user into $InstallDir"
Assert-True (Test-Path $Shortcut) "Start-menu shortcut"
Assert-True ((Get-RunValue) -eq "`"$Exe`" --minimized") "start-at-sign-in value matches core/autostart.py"
Test-Serve

$ci = $env:CI -eq "true"
if ($ci) {
    New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
    Set-Content -Path (Join-Path $DataDir "smoke-test-marker.txt") -Value "keep me"
}
# Uninstalling closes a running Gravity Desk (its files are in use otherwise).
$env:GRAVITY_DESK_HOME = Join-Path $env:TEMP ("gravity-desk-smoke-" + [guid]::NewGuid())
$env:GRAVITY_DESK_KEYRING = "file"
$running = Start-Process -FilePath $Exe -ArgumentList @("serve", "--port", "0") -PassThru -WindowStyle Hidden
Remove-Item Env:GRAVITY_DESK_HOME, Env:GRAVITY_DESK_KEYRING
Start-Sleep -Seconds 3
Assert-True (-not $running.HasExited) "the installed app runs before uninstalling"
Uninstall-App
Assert-True ($running.WaitForExit(15000)) "uninstall closes the running app"
Assert-True (-not (Test-Path $Exe)) "uninstall removes the app"
Assert-True (-not (Test-Path $Shortcut)) "uninstall removes the shortcut"
Assert-True ($null -eq (Get-RunValue)) "uninstall removes the start-at-sign-in value"
if ($ci) {
    Assert-True (Test-Path (Join-Path $DataDir "smoke-test-marker.txt")) "uninstall keeps the user's data"
    Install-App ""
    Uninstall-App @("/DELETEUSERDATA")
    Assert-True (-not (Test-Path $DataDir)) "uninstall with /DELETEUSERDATA deletes the data folder"
}
Write-Host "Windows installer smoke test passed"
