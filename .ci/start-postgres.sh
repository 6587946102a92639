#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for tests and CI on 127.0.0.1 (trust auth) and prints its connection string as
# the last line of stdout. Installs PostgreSQL from Debian's packages if it is missing.
#
# One server per checkout: its data directory is /tmp/pgci-<hash of this checkout's path> (ROUTER_PG_DIR
# overrides), so two checkouts on one machine never share or stop each other's server. Port 55432 when it is
# free, else the next free port up to 55531 (ROUTER_PG_PORT sets the first port tried). Idempotent: when this
# checkout's server already runs, it only prints its connection string.
#
# Run as root: initdb and pg_ctl refuse root, so they run as user postgres.
# Nothing is exported; use it as  ROUTER_TEST_POSTGRES="$(bash .ci/start-postgres.sh | tail -n1)" dotnet test ...
# Stop it with  su postgres -s /bin/sh -c "pg_ctl -D <data dir> stop"  (the data directory is logged on start).
set -euo pipefail

HOST=127.0.0.1
DB=router
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
PGDIR="${ROUTER_PG_DIR:-/tmp/pgci-$(printf '%s' "$repo" | sha256sum | cut -c1-10)}"
DATA="$PGDIR/data"
FIRST_PORT="${ROUTER_PG_PORT:-55432}"

log() { echo "start-postgres: $*" >&2; }

find_pgbin() {
  # Highest installed major version wins; `sort -V` orders 9.6 < 15 < 16 correctly.
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
  return 0
}

as_postgres() { su postgres -s /bin/sh -c "$1"; }

# Something (any program) accepts TCP connections on the port.
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

PGBIN=$(find_pgbin)
if [ -z "$PGBIN" ]; then
  [ "$(id -u)" -eq 0 ] || { log "PostgreSQL is not installed and installing it needs root"; exit 1; }
  log "PostgreSQL not found; installing it"
  # Refresh the index only when we really have to install: it is slow and touches the network.
  apt-get update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null
  PGBIN=$(find_pgbin)
  [ -n "$PGBIN" ] || { log "PostgreSQL installed but no /usr/lib/postgresql/*/bin found"; exit 1; }
fi

[ "$(id -u)" -eq 0 ] || { log "must run as root (to switch to user postgres)"; exit 1; }

PORT=""
# This checkout's server already running? Its port is line 4 of postmaster.pid.
if [ -f "$DATA/postmaster.pid" ] && as_postgres "'$PGBIN/pg_ctl' -D '$DATA' status" >/dev/null 2>&1; then
  PORT=$(sed -n 4p "$DATA/postmaster.pid")
  if "$PGBIN/pg_isready" -q -h "$HOST" -p "$PORT"; then
    log "already running on ${HOST}:${PORT} (data in $DATA)"
  else
    log "the server of $DATA runs but does not answer on ${HOST}:${PORT}; restarting it"
    as_postgres "'$PGBIN/pg_ctl' -D '$DATA' -m fast -w stop" >/dev/null 2>&1 || true
    PORT=""
  fi
fi

if [ -z "$PORT" ]; then
  PORT=$FIRST_PORT
  while port_in_use "$PORT"; do
    PORT=$((PORT + 1))
    if [ "$PORT" -gt $((FIRST_PORT + 99)) ]; then
      log "no free port in ${FIRST_PORT}-$((FIRST_PORT + 99)) on $HOST"; exit 1
    fi
  done
  [ "$PORT" = "$FIRST_PORT" ] || log "port $FIRST_PORT is taken (another checkout's server?); using $PORT"
  mkdir -p "$PGDIR"
  chown postgres:postgres "$PGDIR"
  chmod 700 "$PGDIR"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "initdb in $DATA ($PGBIN)"
    as_postgres "'$PGBIN/initdb' -D '$DATA' -U postgres --auth=trust -E UTF8 >/dev/null"
  fi
  log "starting on ${HOST}:${PORT} (data in $DATA, log $PGDIR/pg.log)"
  if ! as_postgres "'$PGBIN/pg_ctl' -D '$DATA' -l '$PGDIR/pg.log' -o '-c listen_addresses=$HOST -p $PORT -k $PGDIR' -w -t 60 start >/dev/null"; then
    log "PostgreSQL did not start; the end of $PGDIR/pg.log:"; tail -n 20 "$PGDIR/pg.log" >&2 || true; exit 1
  fi
fi

CONN="Host=${HOST};Port=${PORT};Username=postgres;Database=${DB}"

# Read-only when the database exists, so a second run changes nothing.
if [ "$("$PGBIN/psql" -h "$HOST" -p "$PORT" -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$DB'")" != "1" ]; then
  log "creating database $DB"
  "$PGBIN/psql" -h "$HOST" -p "$PORT" -U postgres -d postgres -qc "create database $DB" >/dev/null
fi

echo "$CONN"
