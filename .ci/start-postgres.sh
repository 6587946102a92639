#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for tests and CI on 127.0.0.1:55432 (data under /tmp/pgci, trust auth)
# and prints its connection string. Idempotent: when it is already running, it only prints.
# Run as root: initdb and pg_ctl refuse root, so they run as user postgres.
# Nothing is exported; use it as  ROUTER_TEST_POSTGRES="$(.ci/start-postgres.sh | tail -n1)" dotnet test ...
set -euo pipefail

PORT=55432
HOST=127.0.0.1
PGDIR=/tmp/pgci
DB=router
CONN="Host=${HOST};Port=${PORT};Username=postgres;Database=${DB}"

log() { echo "start-postgres: $*" >&2; }

find_pgbin() {
  # Highest installed major version wins; `sort -V` orders 9.6 < 15 < 16 correctly.
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
  return 0
}

as_postgres() { su postgres -s /bin/sh -c "$1"; }

PGBIN=$(find_pgbin)
if [ -z "$PGBIN" ]; then
  [ "$(id -u)" -eq 0 ] || { log "PostgreSQL is not installed and installing it needs root"; exit 1; }
  log "PostgreSQL not found; installing it"
  # Refresh the index only when we really have to install: it is slow and touches the network.
  apt-get update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >/dev/null
  PGBIN=$(find_pgbin)
  [ -n "$PGBIN" ] || { log "PostgreSQL installed but no /usr/lib/postgresql/*/bin found"; exit 1; }
fi

if "$PGBIN/pg_isready" -q -h "$HOST" -p "$PORT"; then
  log "already running on ${HOST}:${PORT}"
else
  [ "$(id -u)" -eq 0 ] || { log "must run as root (to switch to user postgres)"; exit 1; }
  mkdir -p "$PGDIR"
  chown postgres:postgres "$PGDIR"
  chmod 700 "$PGDIR"
  if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
    log "initdb in $PGDIR/data ($PGBIN)"
    as_postgres "'$PGBIN/initdb' -D '$PGDIR/data' -U postgres --auth=trust -E UTF8 >/dev/null"
  fi
  log "starting on ${HOST}:${PORT}"
  as_postgres "'$PGBIN/pg_ctl' -D '$PGDIR/data' -l '$PGDIR/pg.log' -o '-c listen_addresses=$HOST -p $PORT -k $PGDIR' -w start >/dev/null"
fi

# Read-only when the database exists, so a second run changes nothing.
if [ "$("$PGBIN/psql" -h "$HOST" -p "$PORT" -U postgres -d postgres -tAc "select 1 from pg_database where datname = '$DB'")" != "1" ]; then
  log "creating database $DB"
  "$PGBIN/psql" -h "$HOST" -p "$PORT" -U postgres -d postgres -qc "create database $DB" >/dev/null
fi

echo "$CONN"
