#!/usr/bin/env bash
# Chooses the PostgreSQL server for a run, in this order: DATABASE_URL if set; else a server on
# 127.0.0.1:5432 if one answers; else a private cluster made with the installed PostgreSQL
# binaries under .data/postgres (git-ignored), on a free port, stopped when the run ends.
# Sourced; `use_database NAME` exports DATABASE_URL (ending in /NAME unless it was given).

ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
EMBEDDED_DIR="$ROOT/.data/postgres"
EMBEDDED_STARTED=""

port_answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

postgres_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

free_port() {
  local port
  for port in $(seq 54329 54400); do
    port_answers "$port" || { echo "$port"; return 0; }
  done
  return 1
}

# Runs a PostgreSQL binary as an unprivileged user when we are root (initdb refuses root).
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then
    local user=postgres
    id -u "$user" >/dev/null 2>&1 || user=nobody
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

start_embedded_postgres() {
  local bin port
  bin="$(postgres_bin)" || {
    echo "rentwise: no PostgreSQL found. Set DATABASE_URL, start a server on 127.0.0.1:5432, or install PostgreSQL (sudo apt-get install postgresql)." >&2
    return 1
  }
  mkdir -p "$EMBEDDED_DIR"
  if [ "$(id -u)" = 0 ]; then
    local user=postgres
    id -u "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$EMBEDDED_DIR"
  fi
  if [ ! -f "$EMBEDDED_DIR/data/PG_VERSION" ]; then
    echo "[db] creating a private PostgreSQL cluster in $EMBEDDED_DIR/data" >&2
    as_pg_user "$bin/initdb" -D "$EMBEDDED_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  port="$(free_port)" || { echo "rentwise: no free port for the private PostgreSQL" >&2; return 1; }
  as_pg_user "$bin/pg_ctl" -D "$EMBEDDED_DIR/data" -l "$EMBEDDED_DIR/server.log" -w -t 30 \
    -o "-p $port -k $EMBEDDED_DIR -c listen_addresses=127.0.0.1" start >/dev/null
  EMBEDDED_STARTED="$bin"
  trap stop_embedded_postgres EXIT
  echo "[db] private PostgreSQL started on 127.0.0.1:$port" >&2
  EMBEDDED_PORT="$port"
}

stop_embedded_postgres() {
  [ -n "$EMBEDDED_STARTED" ] || return 0
  as_pg_user "$EMBEDDED_STARTED/pg_ctl" -D "$EMBEDDED_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  EMBEDDED_STARTED=""
}

# Picks the server and exports DATABASE_URL for database NAME (the app creates it if missing).
use_database() {
  local name="$1"
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "[db] using DATABASE_URL" >&2
    return 0
  fi
  if [ "${RENTWISE_EMBEDDED_DB:-}" != 1 ] && port_answers 5432; then
    echo "[db] using the PostgreSQL server on 127.0.0.1:5432" >&2
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$name"
    return 0
  fi
  start_embedded_postgres || return 1
  export DATABASE_URL="postgres://postgres@127.0.0.1:$EMBEDDED_PORT/$name"
}
