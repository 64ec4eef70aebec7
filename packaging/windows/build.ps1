# Builds the Windows installer: PyInstaller (build.spec) into dist\gravity-desk\, then Inno Setup 6 into
# dist\gravity-desk-<version>-setup.exe.
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 [-Python py] [-SkipInstall]
#
# Needs Python 3.12+ (the interpreter given by -Python, else .venv\Scripts\python.exe, else python on PATH) and
# Inno Setup 6 (https://jrsoftware.org/isdl.php, or `choco install innosetup`).
[CmdletBinding()]
param(
    [string]$Python = "",
    [switch]$SkipInstall  # the project and PyInstaller are already installed in that Python
)

$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root

function Invoke-Checked {
    # Native commands do not stop the script on failure by themselves: check their exit code.
    param([string]$Command, [string[]]$Arguments)
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$Command $($Arguments -join ' ')' failed with exit code $LASTEXITCODE" }
}

function Find-Python {
    if ($Python) { return $Python }
    $venv = Join-Path $Root ".venv\Scripts\python.exe"
    if (Test-Path $venv) { return $venv }
    return "python"
}

function Find-Iscc {
    $onPath = Get-Command "iscc.exe" -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    $candidates = @(
        (Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"),
        (Join-Path $env:ProgramFiles "Inno Setup 6\ISCC.exe"),
        (Join-Path $env:LOCALAPPDATA "Programs\Inno Setup 6\ISCC.exe")  # a per-user Inno Setup install
    )
    foreach ($candidate in $candidates) {
        if (Test-Path $candidate) { return $candidate }
    }
    throw "Inno Setup 6 (ISCC.exe) not found: install it from https://jrsoftware.org/isdl.php or with 'choco install innosetup'"
}

$py = Find-Python
Invoke-Checked $py @("-c", "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 'Python 3.12 or newer is needed')")
if (-not $SkipInstall) {
    Invoke-Checked $py @("-m", "pip", "install", "--quiet", "--upgrade", "pip")
    Invoke-Checked $py @("-m", "pip", "install", "--quiet", "-e", ".[build]")
}

$version = (& $py -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])").Trim()
if ($LASTEXITCODE -ne 0 -or -not $version) { throw "could not read the version from pyproject.toml" }
# Windows version resources take numbers only: 0.2.0rc1 -> 0.2.0.
$numeric = [regex]::Match($version, '^\d+(\.\d+){0,3}').Value
Write-Host "== Gravity Desk $version"

Write-Host "== PyInstaller"
Invoke-Checked $py @("-m", "PyInstaller", "--noconfirm", "--clean", "build.spec")
foreach ($name in @("gravity-desk.exe", "gravity-desk-cli.exe")) {  # the windowed app and its console twin
    $exe = Join-Path $Root "dist\gravity-desk\$name"
    if (-not (Test-Path $exe)) { throw "PyInstaller did not produce $exe" }
}

Write-Host "== Inno Setup"
$iscc = Find-Iscc
Invoke-Checked $iscc @("/Qp", "/DAppVersion=$version", "/DNumericVersion=$numeric", "packaging\windows\gravity-desk.iss")
$setup = Join-Path $Root "dist\gravity-desk-$version-setup.exe"
if (-not (Test-Path $setup)) { throw "Inno Setup did not produce $setup" }

$bundleBytes = (Get-ChildItem (Join-Path $Root "dist\gravity-desk") -Recurse -File | Measure-Object -Sum Length).Sum
Write-Host ("built {0} ({1:N1} MB; app folder {2:N1} MB)" -f $setup, ((Get-Item $setup).Length / 1MB), ($bundleBytes / 1MB))
