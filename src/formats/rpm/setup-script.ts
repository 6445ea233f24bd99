import { SHELL_FETCH, shellQuote } from '../setup-shell.js';

/**
 * The `setup.rpm.sh` a machine pipes to `sudo sh`: it writes /etc/yum.repos.d/stockade-*.repo
 * with `repo_gpgcheck=1` and the repository's key (kept in /etc/pki/rpm-gpg), so dnf and yum
 * verify the signed repomd.xml (which names every package's SHA-256), and for a private
 * repository a read token as the repository's password, in a file only root can read.
 */
export function rpmSetupScript(input: { repoUrl: string; repoPath: string; isPrivate: boolean }): string {
  const slug = input.repoPath.replace('/', '-');
  return `#!/bin/sh
# Adds the Stockade repository ${input.repoPath} to dnf / yum.
#   curl -fsSL ${input.repoUrl}/setup.rpm.sh | sudo sh
# Environment:
#   STOCKADE_DIST   distribution and release, e.g. el/9 or fedora/40 (default: from /etc/os-release)
#   STOCKADE_TOKEN  a read token${input.isPrivate ? ' (required: this repository is private)' : ' (only for private repositories)'}
#   STOCKADE_ROOT   install below this directory instead of / (for images and tests)
set -eu

REPO_URL=${shellQuote(input.repoUrl)}
SLUG=${shellQuote(slug)}
ROOT="\${STOCKADE_ROOT:-}"
TOKEN="\${STOCKADE_TOKEN:-}"

if [ -n "\${STOCKADE_DIST:-}" ]; then
  DIST="$STOCKADE_DIST"
elif [ -r "$ROOT/etc/os-release" ]; then
  # RHEL and its rebuilds share el/<major>; Fedora and openSUSE use their own names.
  DIST="$(. "$ROOT/etc/os-release"
    major="\${VERSION_ID%%.*}"
    case "\${ID:-}" in
      rhel|centos|rocky|almalinux|ol) echo "el/$major" ;;
      fedora) echo "fedora/$VERSION_ID" ;;
      amzn) echo "amzn/$VERSION_ID" ;;
      opensuse*|sles) echo "opensuse/$VERSION_ID" ;;
      *) echo "" ;;
    esac)"
else
  DIST=""
fi
if [ -z "$DIST" ]; then
  echo "setup: cannot tell the distribution; set STOCKADE_DIST (e.g. STOCKADE_DIST=el/9)" >&2
  exit 1
fi
${
  input.isPrivate
    ? `if [ -z "$TOKEN" ]; then
  echo "setup: ${input.repoPath} is private; set STOCKADE_TOKEN to a read token" >&2
  exit 1
fi
`
    : ''
}
${SHELL_FETCH}

# The key is kept locally, as for apt: dnf then never fetches trust over the network.
KEY="/etc/pki/rpm-gpg/RPM-GPG-KEY-stockade-$SLUG"
install -d -m 0755 "$ROOT/etc/pki/rpm-gpg"
fetch "$REPO_URL/gpgkey" "$ROOT$KEY"
chmod 0644 "$ROOT$KEY"

REPO_FILE="$ROOT/etc/yum.repos.d/stockade-$SLUG.repo"
install -d -m 0755 "$ROOT/etc/yum.repos.d"
umask 077
{
  echo "[stockade-$SLUG]"
  echo "name=Stockade $SLUG"
  echo "baseurl=$REPO_URL/$DIST"
  echo "enabled=1"
  # The signed repomd.xml names each package's SHA-256; package signatures are the publisher's.
  echo "repo_gpgcheck=1"
  echo "gpgcheck=0"
  echo "gpgkey=file://$KEY"
  if [ -n "$TOKEN" ]; then
    echo "username=machine"
    echo "password=$TOKEN"
  fi
} > "$REPO_FILE"
# Readable by everyone only when it holds no secret.
if [ -z "$TOKEN" ]; then chmod 0644 "$REPO_FILE"; fi
echo "setup: added $REPO_URL/$DIST as stockade-$SLUG ($REPO_FILE)"
`;
}
