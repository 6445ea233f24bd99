/** Pieces shared by the setup scripts machines pipe to `sudo sh` (setup.deb.sh, setup.rpm.sh). */

/** Single-quoted for sh: the value cannot end the quote. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * `fetch URL FILE`: curl or wget, with the read token in `$TOKEN` sent as Basic auth when set
 * (on the command line of a root-run script only, never written anywhere by it).
 */
export const SHELL_FETCH = `fetch() {
  if command -v curl >/dev/null 2>&1; then
    if [ -n "$TOKEN" ]; then curl -fsSL -u "machine:$TOKEN" "$1" -o "$2"; else curl -fsSL "$1" -o "$2"; fi
  elif command -v wget >/dev/null 2>&1; then
    if [ -n "$TOKEN" ]; then wget -q --user=machine --password="$TOKEN" -O "$2" "$1"; else wget -q -O "$2" "$1"; fi
  else
    echo "setup: needs curl or wget" >&2
    exit 1
  fi
}`;
