#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the store and server tests.
#   scripts/postgres-test-cluster.sh start   initdb in a new temp directory, start it, print the connection string
#   scripts/postgres-test-cluster.sh url     print the connection string of the running cluster
#   scripts/postgres-test-cluster.sh stop    stop it and delete its directory
# The cluster listens on a Unix socket inside its directory and on a free 127.0.0.1 port, trusts local users (it
# holds test data only), and is owned by the `postgres` user when this runs as root (PostgreSQL refuses root).
# Tests read the connection string from PLANBRO_TEST_PG_URL:
#   export PLANBRO_TEST_PG_URL=$(scripts/postgres-test-cluster.sh start)
# The state file (where the running cluster lives) defaults to one per checkout; PLANBRO_PG_STATE overrides it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bindir=${PLANBRO_PG_BINDIR:-/usr/lib/postgresql/15/bin}
state=${PLANBRO_PG_STATE:-${TMPDIR:-/tmp}/planbro-pg-test-cluster.$(printf '%s' "$root" | cksum | cut -d' ' -f1)}
dbname=planbro_test
user=planbro

# Runs a PostgreSQL binary as the cluster owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null; then
      runuser -u postgres -- "$@"
    else
      su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
  else
    "$@"
  fi
}

conninfo() {  # dir port
  printf 'host=%s port=%s user=%s dbname=%s\n' "$1" "$2" "$user" "$dbname"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

cmd_start() {
  if [ -f "$state" ]; then
    echo "postgres-test-cluster: already running (state $state); stop it first" >&2
    exit 1
  fi
  [ -x "$bindir/initdb" ] || { echo "postgres-test-cluster: $bindir/initdb not found (apt-get install postgresql)" >&2; exit 1; }
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/planbro-pg.XXXXXX")
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  chmod 0755 "$dir"
  as_owner "$bindir/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }
  # A free port: probe a random one, and if the server still fails to bind (a race), try another. Bounded.
  local port started=0
  for _ in $(seq 1 20); do
    port=$(( 20000 + RANDOM % 40000 ))
    port_in_use "$port" && continue
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null 2>&1; then
      started=1
      break
    fi
  done
  if [ "$started" -ne 1 ]; then
    echo "postgres-test-cluster: the server did not start; log:" >&2
    cat "$dir/server.log" >&2 || true
    rm -rf "$dir"
    exit 1
  fi
  as_owner "$bindir/createdb" -h "$dir" -p "$port" -U "$user" "$dbname"
  printf '%s %s\n' "$dir" "$port" >"$state"
  conninfo "$dir" "$port"
}

read_state() {
  [ -f "$state" ] || { echo "postgres-test-cluster: not running (no $state)" >&2; exit 1; }
  read -r dir port <"$state"
}

cmd_url() {
  local dir port
  read_state
  conninfo "$dir" "$port"
}

cmd_stop() {
  [ -f "$state" ] || exit 0
  local dir port
  read_state
  as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir" "$state"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  url) cmd_url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
