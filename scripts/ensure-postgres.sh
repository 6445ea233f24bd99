#!/usr/bin/env bash
# Makes sure the tests have a PostgreSQL server where the `postgres` user may
# CREATE DATABASE, and prints its URL (…/test) as the only line on stdout.
# Everything else goes to stderr.
#
# 1. If the machine's server answers on 127.0.0.1:5432 with a `test` database,
#    use it: postgres://postgres@127.0.0.1:5432/test
# 2. Otherwise start a throwaway cluster (installing PostgreSQL with apt-get
#    if initdb is missing): trust auth, 127.0.0.1 only, a free port, data,
#    socket and log in a temp dir.
#
# Environment read:
#   STOCKADE_PG_FORCE_THROWAWAY=1  skip step 1 (tests the throwaway path)
#   STOCKADE_PG_CLEANUP_FILE       where to write a script that stops the
#                                  throwaway cluster and deletes its dir; the
#                                  caller runs it when done (test.sh does so
#                                  in its EXIT trap). Unset: the stop command
#                                  is printed on stderr instead.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
log() { echo "ensure-postgres: $*" >&2; }
die() { echo "ensure-postgres: ERROR: $*" >&2; exit 1; }

# Never wait for a password prompt or a dead host (CI has no stdin).
export PGCONNECT_TIMEOUT=5

# --- 1. the machine's own server -------------------------------------------
if [[ ${STOCKADE_PG_FORCE_THROWAWAY:-} == 1 ]]; then
  log "STOCKADE_PG_FORCE_THROWAWAY=1: not using a server on 127.0.0.1:5432"
elif command -v pg_isready >/dev/null 2>&1 && command -v psql >/dev/null 2>&1 \
  && pg_isready -q -h 127.0.0.1 -p 5432 \
  && psql -X -w -q -h 127.0.0.1 -p 5432 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
  log "using the running server on 127.0.0.1:5432"
  echo "postgres://postgres@127.0.0.1:5432/test"
  exit 0
else
  log "no usable server on 127.0.0.1:5432 (database test, user postgres); starting a throwaway cluster"
fi

# --- 2. a throwaway cluster ------------------------------------------------
find_bindir() {
  # Prefer the newest Debian-installed version; fall back to PATH.
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then echo "$d"; return 0; fi
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"; return 0
  fi
  return 1
}

if ! BINDIR=$(find_bindir); then
  [[ $(id -u) -eq 0 ]] || die "PostgreSQL (initdb) is not installed and installing it needs root (apt-get install postgresql)"
  log "initdb not found; installing postgresql with apt-get"
  # Try without 'apt-get update' first: it is slow and usually not needed.
  if ! apt-get install -y -q postgresql >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    apt-get update -q >&2 || die "apt-get update failed"
    apt-get install -y -q postgresql >&2 || die "apt-get install postgresql failed"
  fi
  BINDIR=$(find_bindir) || die "initdb still not found after installing postgresql"
fi
log "using $BINDIR"

# PostgreSQL refuses to run as root, so as root the cluster belongs to the
# `postgres` user (created by Debian's postgresql packages).
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user to run the server as"
  as_pg() { runuser -u postgres -- "$@"; }
  AS_PG_PREFIX="runuser -u postgres -- "
else
  as_pg() { "$@"; }
  AS_PG_PREFIX=""
fi

# Short path under /tmp: the unix socket path must stay under ~100 bytes.
PGTMP=$(mktemp -d /tmp/stockade-pg.XXXXXX)
DATA=$PGTMP/data
LOGFILE=$PGTMP/postgres.log
[[ $(id -u) -eq 0 ]] && chown postgres: "$PGTMP"
# The postgres user may not be able to enter the caller's directory.
cd "$PGTMP"

# A free TCP port on 127.0.0.1, chosen by the kernel.
PORT=$(node -e '
  const s = require("node:net").createServer();
  s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
') || die "could not pick a free port"

STOP_CMD="cd / && ${AS_PG_PREFIX}$BINDIR/pg_ctl -D $DATA -m fast -w stop >/dev/null 2>&1; rm -rf $PGTMP"

log "initdb in $DATA"
as_pg "$BINDIR/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --no-locale >>"$PGTMP/initdb.log" 2>&1 \
  || { tail -n 20 "$PGTMP/initdb.log" >&2; rm -rf "$PGTMP"; die "initdb failed (log above)"; }

# fsync and friends are off: the data is thrown away, and tests run faster.
log "starting on 127.0.0.1:$PORT (log: $LOGFILE)"
if ! as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 \
  -o "-p $PORT -c listen_addresses=127.0.0.1 -k $PGTMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >>"$PGTMP/pg_ctl.log" 2>&1; then
  tail -n 20 "$LOGFILE" >&2 || true
  eval "$STOP_CMD"
  die "pg_ctl start failed (server log above)"
fi

# Register the cleanup before anything else can fail.
if [[ -n ${STOCKADE_PG_CLEANUP_FILE:-} ]]; then
  printf '%s\n' "$STOP_CMD" >>"$STOCKADE_PG_CLEANUP_FILE"
else
  log "throwaway cluster left running; stop it with: $STOP_CMD"
fi

"$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres test >&2 \
  || { eval "$STOP_CMD"; die "createdb test failed"; }
"$BINDIR/psql" -X -w -q -h 127.0.0.1 -p "$PORT" -U postgres -d test -c 'select 1' >/dev/null \
  || { eval "$STOP_CMD"; die "the throwaway cluster does not answer queries"; }

log "throwaway cluster ready"
echo "postgres://postgres@127.0.0.1:$PORT/test"
