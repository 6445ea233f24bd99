#!/usr/bin/env bash
# Installs the external clients the end-to-end tests drive, which a fresh
# Debian 12 + Node 20 machine lacks. Idempotent: quick no-op when present.
#
#   pnpm 10 and yarn classic 1.22 -> .tmp/tools/node_modules/.bin/{pnpm,yarn}
#     (project-local, so nothing global is changed; .tmp/ is gitignored)
#   curl, dpkg-deb, rpm, rpmbuild, dnf, createrepo_c, ruby-full, python3-packaging,
#   twine, python3-pip, python3-venv, python3-wheel, python3-build, bundler
#     -> via apt-get (needs root)
#
# Never skips silently: anything that cannot be installed fails the script.
# Progress goes to stderr; nothing is exported.
set -euo pipefail

cd "$(dirname "$0")/.."
TOOLS_DIR=.tmp/tools
BIN="$TOOLS_DIR/node_modules/.bin"
PNPM_SPEC=pnpm@10
YARN_VERSION=1.22.22
export DEBIAN_FRONTEND=noninteractive

log() { echo "ensure-clients: $*" >&2; }
die() { echo "ensure-clients: ERROR: $*" >&2; exit 1; }

# --- pnpm + yarn -----------------------------------------------------------
# Each check runs the real binary once, so a broken install is not "present".
pnpm_ok() { PNPM_V=$("$BIN/pnpm" --version 2>/dev/null) && [[ $PNPM_V == 10.* ]]; }
yarn_ok() { YARN_V=$("$BIN/yarn" --version 2>/dev/null) && [[ $YARN_V == "$YARN_VERSION" ]]; }

if pnpm_ok && yarn_ok; then
  log "pnpm $PNPM_V and yarn $YARN_V already in $TOOLS_DIR"
else
  log "installing $PNPM_SPEC and yarn@$YARN_VERSION into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  # A package.json of its own keeps npm from treating the repo root as the
  # project (and from touching the repo's lockfile).
  [[ -f $TOOLS_DIR/package.json ]] || echo '{ "name": "stockade-test-tools", "private": true }' >"$TOOLS_DIR/package.json"
  npm install --prefix "$TOOLS_DIR" "$PNPM_SPEC" "yarn@$YARN_VERSION" \
    --no-audit --no-fund --no-update-notifier --loglevel=error >&2 \
    || die "npm install of $PNPM_SPEC yarn@$YARN_VERSION into $TOOLS_DIR failed"
  pnpm_ok || die "pnpm 10 not usable at $BIN/pnpm after install"
  yarn_ok || die "yarn $YARN_VERSION not usable at $BIN/yarn after install"
  log "pnpm $PNPM_V and yarn $YARN_V installed"
fi

# --- Debian packages -------------------------------------------------------
# check -> package: curl for HTTP checks; dpkg-deb builds .deb fixtures; dpkg's own
# Perl module (Dpkg::Version) and rpm check our version ordering; rpmbuild builds .rpm
# fixtures and rpm inspects them; dnf installs from our RPM repositories and createrepo_c
# is the reference our rpm-md metadata is compared with; Ruby's Gem::Version and Python's
# packaging (Debian's own python3, not one a version manager put first on PATH) check the
# RubyGems and PEP 440 orderings, and gem builds .gem fixtures; twine, pip (in a venv), wheel
# and build publish and install Python packages; bundler installs through the compact index.
declare -A APT_PACKAGES=(
  ['command -v curl']=curl
  ['command -v dpkg-deb']=dpkg
  ['perl -MDpkg::Version -e 1']=libdpkg-perl
  ['command -v rpm']=rpm
  ['command -v rpmbuild']=rpm
  ['command -v dnf']=dnf
  ['command -v createrepo_c']=createrepo-c
  ['ruby -e "require %q(rubygems); Gem::Version.new(%q(1))"']=ruby-full
  ['/usr/bin/python3 -c "import packaging.version"']=python3-packaging
  ['command -v twine']=twine
  ['/usr/bin/python3 -m pip --version']=python3-pip
  ['/usr/bin/python3 -c "import venv, ensurepip"']=python3-venv
  ['/usr/bin/python3 -c "import wheel"']=python3-wheel
  ['/usr/bin/python3 -m build --version']=python3-build
  ['command -v bundle']=bundler
)
have() { bash -c "$1" >/dev/null 2>&1; }
missing=()
for check in "${!APT_PACKAGES[@]}"; do
  have "$check" || missing+=("${APT_PACKAGES[$check]}")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "curl, dpkg-deb, Dpkg::Version, rpm, rpmbuild, dnf, createrepo_c, ruby, python3-packaging, twine, pip, venv, wheel, build and bundler present"
else
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  [[ $(id -u) -eq 0 ]] || die "${missing[*]} missing and installing needs root (apt-get install ${missing[*]})"
  log "installing ${missing[*]} with apt-get"
  # Try without 'apt-get update' first: it is slow and usually not needed.
  if ! apt-get install -y -q "${missing[@]}" >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update -q >&2 || die "apt-get update failed"
    apt-get install -y -q "${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
  fi
  for check in "${!APT_PACKAGES[@]}"; do
    have "$check" || die "'$check' still fails after apt-get install"
  done
fi
