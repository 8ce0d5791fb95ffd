#!/usr/bin/env bash
# Starts and stops the real services HealthRec's integration tests use, on 127.0.0.1 only:
#   - PostgreSQL 15 (a throwaway cluster: initdb into a temporary folder, trust auth on loopback, fsync off)
#   - the FHIR test server (tests/fhir-test-server: Medplum's FHIR engine, in memory)
#
#   tests/services.sh up     start both (idempotent); prints the exports and writes them to $STATE/services.env,
#                            which the tests read when the variables are not exported
#   tests/services.sh down   stop both and remove the state folder
#   tests/services.sh env    print the exports of the running services
#
# PostgreSQL refuses to run as root, so as root its binaries run as the `postgres` system user.
set -euo pipefail

STATE=${HEALTHREC_SERVICES_DIR:-${TMPDIR:-/tmp}/healthrec-services}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
ENV_FILE="$STATE/services.env"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# From a folder the postgres user can enter (the caller's may be private to root).
as_postgres() {
  if [ "$(id -u)" = 0 ]; then (cd "$STATE" && runuser -u postgres -- "$@"); else "$@"; fi
}

fhir_running() { [ -f "$STATE/fhir.pid" ] && kill -0 "$(cat "$STATE/fhir.pid")" 2>/dev/null; }
pg_running() { [ -d "$STATE/pg/data" ] && as_postgres "$PG_BIN/pg_ctl" -D "$STATE/pg/data" status >/dev/null 2>&1; }

start_postgres() {
  if pg_running; then return; fi
  if [ ! -x "$PG_BIN/initdb" ]; then
    echo "PostgreSQL 15 binaries not found in $PG_BIN (apt-get install postgresql-15, or set PG_BIN)" >&2
    exit 1
  fi
  rm -rf "$STATE/pg"
  mkdir -p "$STATE/pg"
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$STATE/pg"; fi
  as_postgres "$PG_BIN/initdb" -D "$STATE/pg/data" -U postgres --auth=trust -E UTF8 --no-locale >"$STATE/pg/initdb.log" 2>&1 \
    || { cat "$STATE/pg/initdb.log" >&2; exit 1; }
  PG_PORT=$(free_port)
  as_postgres "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$STATE/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$STATE/pg/server.log" >&2; exit 1; }
  echo "$PG_PORT" >"$STATE/pg/port"
}

start_fhir() {
  if fhir_running; then return; fi
  local dir="$REPO/tests/fhir-test-server"
  if [ ! -d "$dir/node_modules/@medplum/fhir-router" ] || [ ! -d "$dir/node_modules/oidc-provider" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
  FHIR_PORT=$(free_port)
  # Detached from this script's output: callers read that output with $(...), which waits for every writer.
  (
    cd "$dir"
    nohup node --experimental-websocket server.mjs --port "$FHIR_PORT" >"$STATE/fhir.log" 2>&1 </dev/null &
    echo $! >"$STATE/fhir.pid"
  )
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$FHIR_PORT/fhir/R4/metadata" >/dev/null 2>&1; then
      echo "$FHIR_PORT" >"$STATE/fhir.port"
      return
    fi
    if ! fhir_running; then cat "$STATE/fhir.log" >&2; echo "FHIR test server exited" >&2; exit 1; fi
    sleep 0.5
  done
  cat "$STATE/fhir.log" >&2
  echo "FHIR test server did not answer within 60 s" >&2
  exit 1
}

write_env() {
  cat >"$ENV_FILE" <<ENV
export HEALTHREC_TEST_POSTGRES='Host=127.0.0.1;Port=$(cat "$STATE/pg/port");Username=postgres;Database=postgres'
export HEALTHREC_TEST_FHIR='http://127.0.0.1:$(cat "$STATE/fhir.port")/fhir/R4'
ENV
}

case "${1:-}" in
  up)
    mkdir -p "$STATE"
    chmod 755 "$STATE"
    start_postgres
    start_fhir
    write_env
    cat "$ENV_FILE"
    ;;
  down)
    if fhir_running; then kill "$(cat "$STATE/fhir.pid")" 2>/dev/null || true; fi
    if pg_running; then as_postgres "$PG_BIN/pg_ctl" -D "$STATE/pg/data" -m fast -w stop >/dev/null || true; fi
    rm -rf "$STATE"
    ;;
  env)
    cat "$ENV_FILE"
    ;;
  *)
    echo "usage: $0 up|down|env" >&2
    exit 2
    ;;
esac
