#!/usr/bin/env bash
# Population-scoring throughput, end to end, on 127.0.0.1:
#
#   tests/load/population-scoring.sh PATIENTS [CHUNK_SIZE]
#
# Generates PATIENTS synthetic patients (seed 7, 13-year histories, about 110 resources each) as NDJSON under
# /tmp/healthrec-scoring-<PATIENTS> (kept for the next run), starts this machine's PostgreSQL through
# tests/services.sh when HEALTHREC_TEST_POSTGRES is not set, builds and starts the server (Release) on a free port
# with a fresh database of its own, triggers one run (index date 2027-12-31), waits for it to complete, and prints
# the run's patients, chunks, seconds (startedAt to completedAt, as stored) and patients/s, and the chunks each node
# scored. NODES=2 starts two servers on the one database and run folder; WORKERS=N sets each one's Hangfire workers
# (default: one per core). Stops what it started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PATIENTS=${1:?how many patients}
CHUNK=${2:-500}
NODES=${NODES:-1}
DATA=/tmp/healthrec-scoring-$PATIENTS
WORK=$(mktemp -d /tmp/healthrec-scoring-run-XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

dotnet build src/HealthRec.Server -c Release -nologo -clp:ErrorsOnly >/dev/null
HEALTHREC=src/HealthRec.Server/bin/Release/net10.0/healthrec
if [ ! -f "$DATA/.complete" ]; then
  rm -rf "$DATA"
  echo "generating $PATIENTS patients into $DATA" >&2
  "$HEALTHREC" synth --patients "$PATIENTS" --seed 7 --years 13 --out "$DATA" >/dev/null
  touch "$DATA/.complete"
fi
if [ -z "${HEALTHREC_TEST_POSTGRES:-}" ]; then
  eval "$(tests/services.sh up | tail -2)"
fi
DB="scoring_$(date +%s)"
ADMIN="$HEALTHREC_TEST_POSTGRES"
python3 - "$ADMIN" "$DB" <<'PY'
import sys, subprocess
kv = dict(p.split('=', 1) for p in sys.argv[1].split(';') if p)
subprocess.run(['psql', '-h', kv['Host'], '-p', kv['Port'], '-U', kv['Username'], '-d', kv.get('Database', 'postgres'), '-qc', f'CREATE DATABASE {sys.argv[2]}'], check=True)
PY
CONNECTION="${ADMIN/Database=postgres/Database=$DB}"
# NODES servers share the database (Hangfire's queue and the results) and the run folder, as nodes of one deployment do.
PORTS=()
for node in $(seq 1 "$NODES"); do
  PORT=$(free_port)
  PORTS+=("$PORT")
  "$HEALTHREC" serve --urls "http://127.0.0.1:$PORT" --ConnectionStrings:Postgres "$CONNECTION" --Storage:AuditSpoolPath "$WORK/audit-spool-$node" \
    --Jobs:Scoring:Source "$DATA" --Jobs:Scoring:ChunkSize "$CHUNK" --Jobs:Scoring:WorkPath "$WORK/runs" --Logging:LogLevel:Default=Warning \
    ${WORKERS:+--Jobs:WorkerCount "$WORKERS"} >"$WORK/server-$node.log" 2>&1 &
  PIDS+=($!)
done
for PORT in "${PORTS[@]}"; do
  for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done
done
PORT=${PORTS[0]}
curl -fsS -X POST "http://127.0.0.1:$PORT/admin/jobs/population-scoring?indexDate=2027-12-31" >/dev/null
# Polled with curl and grep alone: a Python start every poll took a few per cent of the two cores being measured.
while sleep 2; do
  runs=$(curl -fsS "http://127.0.0.1:$PORT/api/runs")
  if grep -q '"completedAt":"' <<<"$runs"; then break; fi
done
python3 - "$runs" <<'PY'
import json, sys
from datetime import datetime
r = json.loads(sys.argv[1]); r = r.get("runs", r) if isinstance(r, dict) else r; run = r[0]
p = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
seconds = (p(run["completedAt"]) - p(run["startedAt"])).total_seconds()
print(f'{run["patients"]} patients in {run["chunks"]} chunks: {seconds:.1f} s = {run["patients"] / seconds:.0f} patients/s')
PY
psql "host=$(sed 's/.*Host=\([^;]*\).*/\1/' <<<"$ADMIN") port=$(sed 's/.*Port=\([^;]*\).*/\1/' <<<"$ADMIN") user=$(sed 's/.*Username=\([^;]*\).*/\1/' <<<"$ADMIN") dbname=$DB" \
  -Atc "SELECT node || ': ' || count(*) || ' chunks' FROM score_chunk GROUP BY node ORDER BY node"
