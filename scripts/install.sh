#!/bin/sh
# credproc installer (POSIX sh): picks the release archive for this OS and CPU, downloads it, checks it
# against the release's SHA256SUMS, installs `credproc` and prints the credential_process line to paste.
#
#   install.sh [--version X.Y.Z] [--dir DIR]
#
#   --version X.Y.Z  release to install (default: the latest release)
#   --dir DIR        where to put `credproc` (default: ~/.local/bin)
#
# Downloads $BASE/vX.Y.Z/credproc-X.Y.Z-<target>.tar.gz and $BASE/vX.Y.Z/SHA256SUMS, where BASE is
# $CREDPROC_DOWNLOAD_BASE or the GitHub releases download URL. Without --version the version is read from a
# `VERSION` asset: GitHub's .../releases/latest/download/VERSION by default, $CREDPROC_DOWNLOAD_BASE/latest/VERSION
# when the base is overridden (a mirror keeps vX.Y.Z/ folders and a latest/VERSION file).
#
# On any failure it exits non-zero and leaves nothing behind: no download, no half-written binary, no
# directory it created; an existing credproc is replaced only by a verified one that runs.
set -eu

# Placeholder: the GitHub owner/name of the project is not decided yet. The one place to change it.
REPO="credproc/credproc"

DEFAULT_BASE="https://github.com/${REPO}/releases/download"
DEFAULT_LATEST="https://github.com/${REPO}/releases/latest/download/VERSION"

say() { printf '%s\n' "$*"; }
err() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
  err "$*"
  exit 1
}
usage() {
  say "usage: install.sh [--version X.Y.Z] [--dir DIR]"
  say "  --version X.Y.Z  release to install (default: the latest)"
  say "  --dir DIR        install directory (default: ~/.local/bin)"
  say "  CREDPROC_DOWNLOAD_BASE  download base URL (default: ${DEFAULT_BASE})"
}

version=""
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) [ $# -ge 2 ] || { err "--version needs a value"; exit 2; }; version=$2; shift 2 ;;
    --version=*) version=${1#--version=}; shift ;;
    --dir) [ $# -ge 2 ] || { err "--dir needs a value"; exit 2; }; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) err "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
done

valid_version() {
  # X.Y.Z with an optional -prerelease; nothing that could step out of a URL path.
  printf '%s\n' "$1" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$'
}

if [ -n "$version" ]; then
  version=${version#v}
  valid_version "$version" || { err "--version must look like 1.2.3, got '$version'"; exit 2; }
fi
if [ -z "$dir" ]; then
  [ -n "${HOME:-}" ] || { err "HOME is not set: pass --dir DIR"; exit 2; }
  dir="$HOME/.local/bin"
fi
case "$dir" in
  /*) ;;
  *) dir="$(pwd)/$dir" ;;
esac
while [ "${dir%/}" != "$dir" ] && [ "$dir" != "/" ]; do dir=${dir%/}; done

# --- which build -------------------------------------------------------------------------------------------
os=$(uname -s)
arch=$(uname -m)
case "$os" in
  Linux)
    case "$arch" in
      x86_64 | amd64) target="x86_64-unknown-linux-gnu" ;;
      aarch64 | arm64) target="aarch64-unknown-linux-gnu" ;;
      *) die "no credproc build for Linux on $arch (builds: x86_64, aarch64)" ;;
    esac
    ;;
  Darwin)
    case "$arch" in
      x86_64)
        # An x86_64 shell under Rosetta on Apple silicon: the native build is the better one.
        if [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = "1" ]; then
          target="aarch64-apple-darwin"
        else
          target="x86_64-apple-darwin"
        fi
        ;;
      arm64 | aarch64) target="aarch64-apple-darwin" ;;
      *) die "no credproc build for macOS on $arch" ;;
    esac
    ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT)
    die "on Windows use install.ps1 (PowerShell), or download the .zip from the release page"
    ;;
  *) die "no credproc build for $os $arch (builds: Linux x86_64/aarch64, macOS x86_64/arm64, Windows x86_64)" ;;
esac

# --- tools -------------------------------------------------------------------------------------------------
if command -v curl >/dev/null 2>&1; then
  downloader=curl
elif command -v wget >/dev/null 2>&1; then
  downloader=wget
else
  die "needs curl or wget"
fi
if command -v sha256sum >/dev/null 2>&1; then
  hasher=sha256sum
elif command -v shasum >/dev/null 2>&1; then
  hasher=shasum
elif command -v openssl >/dev/null 2>&1; then
  hasher=openssl
else
  die "needs sha256sum, shasum or openssl to verify the download"
fi
command -v tar >/dev/null 2>&1 || die "needs tar"

fetch() { # URL FILE: fails on any HTTP error; an https URL may not be redirected to plain http
  case "$1" in
    https://*) https=1 ;;
    *) https=0 ;;
  esac
  if [ "$downloader" = curl ]; then
    if [ "$https" = 1 ]; then
      curl -fsSL --proto '=https' --tlsv1.2 --retry 2 -o "$2" "$1" 2>"$tmp/fetch.err"
    else
      curl -fsSL --retry 2 -o "$2" "$1" 2>"$tmp/fetch.err"
    fi
  else
    if [ "$https" = 1 ]; then
      wget -nv --https-only -O "$2" "$1" 2>"$tmp/fetch.err"
    else
      wget -nv -O "$2" "$1" 2>"$tmp/fetch.err"
    fi
  fi
}

# Why the last fetch failed, in a few words (curl's or wget's last line).
fetch_error() {
  awk 'NF { last = $0 } END { sub(/^curl: \([0-9]+\) /, "", last); print (last == "" ? "download failed" : last) }' \
    "$tmp/fetch.err" 2>/dev/null || echo "download failed"
}

sha256_of() {
  case "$hasher" in
    sha256sum) sha256sum "$1" | awk '{ print $1 }' ;;
    shasum) shasum -a 256 "$1" | awk '{ print $1 }' ;;
    openssl) openssl dgst -sha256 "$1" | awk '{ print $NF }' ;;
  esac
}

# --- cleanup: whatever happens, nothing of a failed run stays ----------------------------------------------
tmp=""
staged=""
created_top="" # the outermost directory this run created for --dir, removed again on failure
ok=0
cleanup() {
  [ -n "$staged" ] && rm -f "$staged"
  [ -n "$tmp" ] && rm -rf "$tmp"
  if [ "$ok" != 1 ] && [ -n "$created_top" ]; then
    d=$dir
    while rmdir "$d" 2>/dev/null; do
      [ "$d" = "$created_top" ] && break
      d=$(dirname "$d")
    done
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/credproc-install.XXXXXX") || die "cannot create a temporary directory"

base=${CREDPROC_DOWNLOAD_BASE:-$DEFAULT_BASE}
base=${base%/}

# --- which version -----------------------------------------------------------------------------------------
if [ -z "$version" ]; then
  if [ -n "${CREDPROC_DOWNLOAD_BASE:-}" ]; then latest_url="$base/latest/VERSION"; else latest_url=$DEFAULT_LATEST; fi
  fetch "$latest_url" "$tmp/VERSION" ||
    die "cannot find the latest version at $latest_url: $(fetch_error) (pass --version X.Y.Z)"
  version=$(head -n 1 "$tmp/VERSION" | tr -d ' \t\r')
  version=${version#v}
  valid_version "$version" || die "$latest_url does not hold a version (got '$version'); pass --version X.Y.Z"
fi

asset="credproc-${version}-${target}.tar.gz"
url="$base/v${version}/${asset}"
sums_url="$base/v${version}/SHA256SUMS"

# --- download and verify -----------------------------------------------------------------------------------
say "Downloading $url"
fetch "$url" "$tmp/$asset" ||
  die "cannot download $url: $(fetch_error) (is there a $target build of credproc $version?)"
fetch "$sums_url" "$tmp/SHA256SUMS" ||
  die "cannot download $sums_url: $(fetch_error); refusing to install an unverified download"

expected=$(awk -v n="$asset" '$2 == n || $2 == ("*" n) { print $1; exit }' "$tmp/SHA256SUMS" | tr 'A-F' 'a-f')
printf '%s\n' "$expected" | grep -Eq '^[0-9a-f]{64}$' ||
  die "SHA256SUMS has no checksum for $asset: refusing to install an unverified download"
actual=$(sha256_of "$tmp/$asset" | tr 'A-F' 'a-f')
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual; refusing to install it"
fi
say "Verified SHA-256 $actual"

mkdir "$tmp/x"
tar -xzf "$tmp/$asset" -C "$tmp/x" credproc 2>/dev/null || die "cannot unpack credproc from $asset (it must hold credproc at its root)"
if [ ! -f "$tmp/x/credproc" ] || [ -h "$tmp/x/credproc" ]; then
  die "$asset: credproc is not a regular file"
fi

# --- install -----------------------------------------------------------------------------------------------
if [ ! -d "$dir" ]; then
  d=$dir
  while [ ! -d "$d" ]; do
    created_top=$d
    d=$(dirname "$d")
  done
  mkdir -p "$dir" || die "cannot create $dir"
fi
staged="$dir/.credproc.install.$$"
cp "$tmp/x/credproc" "$staged" || die "cannot write to $dir"
chmod 755 "$staged" || die "cannot make $staged executable"
# Run it once where it will live (same file system, same mount options) before it replaces anything.
if ! got=$("$staged" --version 2>&1); then
  die "the downloaded credproc does not run here: $got"
fi
mv -f "$staged" "$dir/credproc" || die "cannot move credproc into $dir"
staged=""
ok=1

bin="$dir/credproc"
say "Installed $got"
say "  -> $bin"
case ":${PATH:-}:" in
  *":$dir:"*) ;;
  *) say "note: $dir is not on your PATH; the line below uses the full path anyway." ;;
esac
case "$bin" in
  *[!A-Za-z0-9_./-]*) shown="\"$bin\"" ;;
  *) shown=$bin ;;
esac
say ""
say "Add a profile to ~/.aws/config (put your role's ARN in; --profile names the profile with your own"
say "credentials, so the line works with aws --profile my-role and with AWS_PROFILE=my-role alike):"
say ""
say "[profile my-role]"
say "credential_process = $shown --profile default --role-arn arn:aws:iam::123456789012:role/my-role"
