<#
.SYNOPSIS
  Installs credproc on Windows: downloads the release .zip, checks it against the release's SHA256SUMS,
  installs credproc.exe and prints the credential_process line to paste.

.DESCRIPTION
  install.ps1 [-Version X.Y.Z] [-Dir DIR]

  -Version X.Y.Z  release to install (default: the latest release)
  -Dir DIR        where to put credproc.exe (default: ~\.local\bin)

  Downloads $Base/vX.Y.Z/credproc-X.Y.Z-x86_64-pc-windows-msvc.zip and $Base/vX.Y.Z/SHA256SUMS, where $Base
  is $env:CREDPROC_DOWNLOAD_BASE or the GitHub releases download URL. Without -Version the version is read
  from a VERSION asset: GitHub's .../releases/latest/download/VERSION by default, or
  $env:CREDPROC_DOWNLOAD_BASE/latest/VERSION when the base is overridden.

  On any failure it exits 1 and leaves nothing behind; an existing credproc.exe is replaced only by a
  verified one that runs. Works in Windows PowerShell 5.1 and PowerShell 7.

  The credential_process line it prints names credproc.exe by its full path when that path holds no space,
  quote or cmd.exe special character; otherwise it names `credproc` and adds the directory to the user's PATH
  (a quoted path breaks the Go SDK v2; see docs/release.md).

  Not tested automatically: the project's CI machines have no PowerShell (see docs/release.md); the
  credential_process line's rule is checked by tests/release/windows_line_test.ts.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File install.ps1 -Version 0.1.0
#>
[CmdletBinding()]
param(
  [string]$Version = "",
  [string]$Dir = "",
  [switch]$Help
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = "Stop"
$ProgressPreference = "SilentlyContinue" # the progress bar makes Invoke-WebRequest very slow in 5.1

# Placeholder: the GitHub owner/name of the project is not decided yet. The one place to change it.
$Repo = "credproc/credproc"

$DefaultBase = "https://github.com/$Repo/releases/download"
$DefaultLatest = "https://github.com/$Repo/releases/latest/download/VERSION"
$Target = "x86_64-pc-windows-msvc"
$VersionPattern = '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$'
# A program path every SDK runs from a credential_process line as written: no space, no quote, nothing cmd.exe
# treats specially. The Go SDK v2 runs the line through `cmd.exe /C` after quoting it once more, so a quoted
# "C:\Users\Jane Doe\...\credproc.exe" followed by arguments breaks there (and in .NET as soon as another
# quote follows); botocore splits it itself. See docs/release.md, "The credential_process line on Windows".
$PlainPath = '^[A-Za-z0-9_.:\\-]+$'

# The program to write in the credential_process line: the full path when it is plain, else the bare name
# (the caller puts the directory on PATH). tests/release/windows_line_test.ts checks this rule.
function Get-CredentialProcessProgram([string]$Bin) {
  if ($Bin -match $PlainPath) { return $Bin }
  return "credproc"
}

function Write-Usage {
  Write-Output "usage: install.ps1 [-Version X.Y.Z] [-Dir DIR]"
  Write-Output "  -Version X.Y.Z  release to install (default: the latest)"
  Write-Output "  -Dir DIR        install directory (default: ~\.local\bin)"
  Write-Output "  CREDPROC_DOWNLOAD_BASE  download base URL (default: $DefaultBase)"
}

# Before anything is downloaded: print one line and exit.
function Stop-Install([string]$Message, [int]$Code = 1) {
  [Console]::Error.WriteLine("install.ps1: $Message")
  exit $Code
}

# During the install: throw, so that the one catch prints one line and the finally block cleans up.
function Fail([string]$Message) {
  throw [System.InvalidOperationException]::new($Message)
}

if ($Help) { Write-Usage; exit 0 }

$isWin = $true
if (Get-Variable -Name IsWindows -ErrorAction SilentlyContinue) { $isWin = $IsWindows }
if (-not $isWin) { Stop-Install "on Linux and macOS use install.sh" }

$arch = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
switch ($arch) {
  "AMD64" { }
  "ARM64" { Write-Output "note: no native arm64 build; installing the x86_64 one (Windows 11 runs it emulated)" }
  default { Stop-Install "no credproc build for Windows on $arch (builds: x86_64)" }
}

if ($Version -ne "") {
  $Version = $Version -replace '^v', ''
  if ($Version -notmatch $VersionPattern) { Stop-Install "-Version must look like 1.2.3, got '$Version'" 2 }
}
if ($Dir -eq "") {
  $Dir = Join-Path $HOME ".local\bin"
} elseif (-not [IO.Path]::IsPathRooted($Dir)) {
  $Dir = Join-Path (Get-Location).Path $Dir
}
$Dir = [IO.Path]::GetFullPath($Dir)

# Windows PowerShell 5.1 may default to TLS 1.0.
try {
  [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor
    [Net.SecurityProtocolType]::Tls12
} catch { }

$base = if ($env:CREDPROC_DOWNLOAD_BASE) { $env:CREDPROC_DOWNLOAD_BASE.TrimEnd("/") } else { $DefaultBase }

$tmp = Join-Path ([IO.Path]::GetTempPath()) ("credproc-install-" + [Guid]::NewGuid().ToString("N"))
$staged = $null
$createdTop = $null
$ok = $false
$exitCode = 0

function Get-File([string]$Url, [string]$OutFile, [string]$What) {
  try {
    Invoke-WebRequest -Uri $Url -OutFile $OutFile -UseBasicParsing
  } catch {
    Fail "cannot download ${Url}: $($_.Exception.Message)$What"
  }
}

try {
  New-Item -ItemType Directory -Path $tmp | Out-Null

  if ($Version -eq "") {
    $latestUrl = if ($env:CREDPROC_DOWNLOAD_BASE) { "$base/latest/VERSION" } else { $DefaultLatest }
    Get-File $latestUrl (Join-Path $tmp "VERSION") " (pass -Version X.Y.Z)"
    $raw = Get-Content -Raw (Join-Path $tmp "VERSION")
    if ($null -eq $raw) { $raw = "" }
    $Version = ($raw -split "`n")[0].Trim() -replace '^v', ''
    if ($Version -notmatch $VersionPattern) {
      Fail "$latestUrl does not hold a version (got '$Version'); pass -Version X.Y.Z"
    }
  }

  $asset = "credproc-$Version-$Target.zip"
  $url = "$base/v$Version/$asset"
  $sumsUrl = "$base/v$Version/SHA256SUMS"
  $zip = Join-Path $tmp $asset
  $sums = Join-Path $tmp "SHA256SUMS"

  Write-Output "Downloading $url"
  Get-File $url $zip " (is there a $Target build of credproc $Version?)"
  Get-File $sumsUrl $sums "; refusing to install an unverified download"

  $expected = $null
  foreach ($line in Get-Content $sums) {
    if ($line -match '^([0-9a-fA-F]{64}) [ *](.+)$' -and $Matches[2].Trim() -eq $asset) {
      $expected = $Matches[1].ToLowerInvariant()
      break
    }
  }
  if (-not $expected) { Fail "SHA256SUMS has no checksum for ${asset}: refusing to install an unverified download" }
  $actual = (Get-FileHash -Algorithm SHA256 -Path $zip).Hash.ToLowerInvariant()
  if ($actual -ne $expected) {
    Fail "checksum mismatch for ${asset}: SHA256SUMS says $expected, the download is $actual; refusing to install it"
  }
  Write-Output "Verified SHA-256 $actual"

  $x = Join-Path $tmp "x"
  try {
    Expand-Archive -Path $zip -DestinationPath $x
  } catch {
    Fail "cannot unpack ${asset}: $($_.Exception.Message)"
  }
  $exe = Join-Path $x "credproc.exe"
  if (-not (Test-Path -LiteralPath $exe -PathType Leaf)) { Fail "$asset holds no credproc.exe at its root" }

  if (-not (Test-Path -LiteralPath $Dir -PathType Container)) {
    $d = $Dir
    while ($d -and -not (Test-Path -LiteralPath $d)) {
      $createdTop = $d
      $d = Split-Path -Parent $d
    }
    try {
      New-Item -ItemType Directory -Path $Dir -Force | Out-Null
    } catch {
      Fail "cannot create ${Dir}: $($_.Exception.Message)"
    }
  }
  $staged = Join-Path $Dir ".credproc.install.$PID.exe"
  Copy-Item -LiteralPath $exe -Destination $staged
  # Run it once where it will live before it replaces anything.
  # (5.1 turns a native program's stderr into errors, which "Stop" would make fatal: relax it for this call.)
  $ErrorActionPreference = "Continue"
  try {
    $got = (& $staged --version 2>&1 | Out-String).Trim()
    $code = $LASTEXITCODE
  } catch {
    $got = $_.Exception.Message
    $code = -1
  }
  $ErrorActionPreference = "Stop"
  if ($code -ne 0) { Fail "the downloaded credproc does not run here: $got" }
  $bin = Join-Path $Dir "credproc.exe"
  try {
    Move-Item -LiteralPath $staged -Destination $bin -Force
  } catch {
    Fail "cannot replace ${bin} (is credproc running?): $($_.Exception.Message)"
  }
  $staged = $null
  $ok = $true

  Write-Output "Installed $got"
  Write-Output "  -> $bin"
  $onPath = @($env:Path -split ';' | Where-Object { $_ -and ($_.TrimEnd('\') -ieq $Dir.TrimEnd('\')) }).Count -gt 0
  $program = Get-CredentialProcessProgram $bin
  if ($program -eq "credproc" -and -not $onPath) {
    # A quoted path breaks the Go SDK v2 (and .NET with a quoted argument): the line names credproc
    # bare, so the directory goes on the user's PATH. credproc is installed either way: never fail here.
    try {
      $userPath = [Environment]::GetEnvironmentVariable('Path', 'User')
      if ($null -eq $userPath) { $userPath = "" }
      [Environment]::SetEnvironmentVariable('Path', ("$Dir;" + $userPath).TrimEnd(';'), 'User')
      Write-Output "Added $Dir to your user PATH: its path cannot be written in a credential_process line"
      Write-Output "  every AWS SDK runs. Restart open terminals, IDEs and services so they see it."
    } catch {
      Write-Output "note: could not add $Dir to your PATH ($($_.Exception.Message)); add it yourself:"
      Write-Output "  [Environment]::SetEnvironmentVariable('Path', '$Dir;' + [Environment]::GetEnvironmentVariable('Path', 'User'), 'User')"
    }
  } elseif (-not $onPath) {
    Write-Output "note: $Dir is not on your PATH; the line below uses the full path anyway. To add it:"
    Write-Output "  [Environment]::SetEnvironmentVariable('Path', '$Dir;' + [Environment]::GetEnvironmentVariable('Path', 'User'), 'User')"
  }
  Write-Output ""
  Write-Output "Add a profile to ~\.aws\config (put your role's ARN in; --profile names the profile with your own"
  Write-Output "credentials, so the line works with aws --profile my-role and with AWS_PROFILE=my-role alike):"
  Write-Output ""
  Write-Output "[profile my-role]"
  Write-Output "credential_process = $program --profile default --role-arn arn:aws:iam::123456789012:role/my-role"
} catch {
  [Console]::Error.WriteLine("install.ps1: $($_.Exception.Message)")
  $exitCode = 1
} finally {
  if ($staged -and (Test-Path -LiteralPath $staged)) { Remove-Item -LiteralPath $staged -Force -ErrorAction SilentlyContinue }
  if (Test-Path -LiteralPath $tmp) { Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue }
  if (-not $ok -and $createdTop) {
    $d = $Dir
    while ($d) {
      if (@(Get-ChildItem -LiteralPath $d -Force -ErrorAction SilentlyContinue).Count -ne 0) { break }
      Remove-Item -LiteralPath $d -Force -ErrorAction SilentlyContinue
      if ($d -eq $createdTop) { break }
      $d = Split-Path -Parent $d
    }
  }
}
exit $exitCode
