import { SHELL_FETCH, shellQuote } from '../setup-shell.js';

/**
 * The `setup.deb.sh` a machine pipes to `sudo bash`: it installs the repository key into
 * /etc/apt/keyrings, a sources.list.d entry that trusts only that key (`signed-by=`), and, for a
 * private repository, the read token in /etc/apt/auth.conf.d (never in the sources line, which
 * apt prints and users paste into tickets).
 */
export function aptSetupScript(input: { repoUrl: string; repoPath: string; isPrivate: boolean }): string {
  const slug = input.repoPath.replace('/', '-');
  const url = new URL(input.repoUrl);
  // apt matches auth.conf machines by host and path; over plain http it wants the scheme too.
  const machine = url.protocol === 'https:' ? `${url.host}${url.pathname}` : `http://${url.host}${url.pathname}`;
  return `#!/bin/sh
# Adds the Stockade repository ${input.repoPath} to apt.
#   curl -fsSL ${input.repoUrl}/setup.sh | sudo sh
# Environment:
#   STOCKADE_DIST       distribution codename (default: VERSION_CODENAME from /etc/os-release)
#   STOCKADE_COMPONENT  component (default: main)
#   STOCKADE_TOKEN      a read token${input.isPrivate ? ' (required: this repository is private)' : ' (only for private repositories)'}
#   STOCKADE_ROOT       install below this directory instead of / (for images and tests)
#   STOCKADE_NO_UPDATE  set to 1 to skip apt-get update
set -eu

REPO_URL=${shellQuote(input.repoUrl)}
MACHINE=${shellQuote(machine)}
SLUG=${shellQuote(slug)}
ROOT="\${STOCKADE_ROOT:-}"
COMPONENT="\${STOCKADE_COMPONENT:-main}"
TOKEN="\${STOCKADE_TOKEN:-}"

if [ -n "\${STOCKADE_DIST:-}" ]; then
  DIST="$STOCKADE_DIST"
elif [ -r "$ROOT/etc/os-release" ]; then
  DIST="$(. "$ROOT/etc/os-release" && echo "\${VERSION_CODENAME:-}")"
else
  DIST=""
fi
if [ -z "$DIST" ]; then
  echo "setup: cannot tell the distribution; set STOCKADE_DIST (e.g. STOCKADE_DIST=bookworm)" >&2
  exit 1
fi
${input.isPrivate ? `if [ -z "$TOKEN" ]; then
  echo "setup: ${input.repoPath} is private; set STOCKADE_TOKEN to a read token" >&2
  exit 1
fi
` : ''}
${SHELL_FETCH}

install -d -m 0755 "$ROOT/etc/apt/keyrings" "$ROOT/etc/apt/sources.list.d"
KEYRING="/etc/apt/keyrings/stockade-$SLUG.gpg"
fetch "$REPO_URL/keyring.gpg" "$ROOT$KEYRING"
chmod 0644 "$ROOT$KEYRING"
echo "deb [signed-by=$KEYRING] $REPO_URL $DIST $COMPONENT" > "$ROOT/etc/apt/sources.list.d/stockade-$SLUG.list"

if [ -n "$TOKEN" ]; then
  install -d -m 0755 "$ROOT/etc/apt/auth.conf.d"
  umask 077
  printf 'machine %s\\nlogin machine\\npassword %s\\n' "$MACHINE" "$TOKEN" > "$ROOT/etc/apt/auth.conf.d/stockade-$SLUG.conf"
fi

if [ "\${STOCKADE_NO_UPDATE:-0}" != 1 ] && [ -z "$ROOT" ]; then
  apt-get update -o Dir::Etc::sourcelist="sources.list.d/stockade-$SLUG.list" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
fi
echo "setup: added $REPO_URL $DIST $COMPONENT (key $KEYRING)"
`;
}
