#!/usr/bin/env bash
# Load test of the CDS Hooks patient-view service on 127.0.0.1, with wrk (Debian's package; installed when missing).
#
#   tests/load/cds-load.sh [prefetch|fhir] [seconds] [pace-ms]
#
# prefetch (default): every call carries a full prefetch (the demo cohort's 20 fullest records, about 250–330
#   resources each) — the EHR did the reading.
# fhir: the calls carry no prefetch, only fhirServer: HealthRec reads every key from a FHIR test server started here
#   (tests/fhir-test-server, Medplum's engine in memory) holding those 20 patients.
#
# CONNECTIONS (default 16) sets wrk's connections. With pace-ms, each connection pauses that long between a response and its next call (an offered load,
# e.g. 100 ms ≈ 140 calls/s); without it they call as fast as the server answers (its capacity, where latency is
# queueing: about 16 / throughput).
# Builds the server (Release), starts it on a free port with its own SQLite database, warms it up (WARMUP seconds,
# default 60: on two busy cores the JIT's tiered compilation is still recompiling hot methods after 15 s), then measures for the given seconds (default 30) at 16 connections, prints wrk's
# latency distribution and throughput, and stops everything it started. Nothing leaves this machine.
# COUNTERS=FILE also records the server's own meters during the measurement (dotnet-counters, installed when missing,
# one CSV interval as long as the measurement): ASP.NET Core's http.server.request.duration and HealthRec's audit meters.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
MODE=${1:-prefetch}
SECONDS_TO_RUN=${2:-30}
export CDS_PACE_MS=${3:-0}
CONNECTIONS=${CONNECTIONS:-16}
WARMUP=${WARMUP:-60}
WORK=$(mktemp -d /tmp/healthrec-load-XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

dotnet build src/HealthRec.Server -c Release -nologo -clp:ErrorsOnly >/dev/null
if [ "$MODE" = fhir ]; then
  FHIR_PORT=$(free_port)
  [ -d tests/fhir-test-server/node_modules/@medplum/fhir-router ] && [ -d tests/fhir-test-server/node_modules/oidc-provider ] || (cd tests/fhir-test-server && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  (cd tests/fhir-test-server && exec node --experimental-websocket server.mjs --port "$FHIR_PORT" >"$WORK/fhir.log" 2>&1) &
  PIDS+=($!)
  for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$FHIR_PORT/fhir/R4/metadata" >/dev/null 2>&1 && break; sleep 0.5; done
  python3 tests/load/make-requests.py --out "$WORK/requests" --fhir-server "http://127.0.0.1:$FHIR_PORT/fhir/R4" --load
else
  python3 tests/load/make-requests.py --out "$WORK/requests"
fi

PORT=$(free_port)
src/HealthRec.Server/bin/Release/net10.0/healthrec serve --urls "http://127.0.0.1:$PORT" --Storage:SqlitePath "$WORK/healthrec.db" \
  --Storage:AuditSpoolPath "$WORK/audit-spool" --Logging:LogLevel:Default=Warning >"${SERVER_LOG:-$WORK/server.log}" 2>&1 &
SERVER_PID=$!
PIDS+=($SERVER_PID)
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1 && break; sleep 0.5; done

URL="http://127.0.0.1:$PORT/cds-services/healthrec-patient-risk"
export CDS_REQUESTS="$WORK/requests"
echo "warming up for ${WARMUP} s" >&2
CDS_PACE_MS=0 wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s tests/load/cds-patient-view.lua "$URL" >/dev/null 2>"$WORK/warmup.err"
echo "measuring for ${SECONDS_TO_RUN} s ($MODE, pause between calls ${CDS_PACE_MS} ms)" >&2
if [ -n "${COUNTERS:-}" ]; then
  COUNTERS_TOOL=$(command -v dotnet-counters || echo "$HOME/.dotnet/tools/dotnet-counters")
  [ -x "$COUNTERS_TOOL" ] || dotnet tool install --global dotnet-counters >/dev/null
  "$COUNTERS_TOOL" collect -p "$SERVER_PID" --format csv -o "$COUNTERS" --maxHistograms 100 --refresh-interval "$SECONDS_TO_RUN" --duration "$(printf '00:00:%02d:%02d' $(((SECONDS_TO_RUN + 2) / 60)) $(((SECONDS_TO_RUN + 2) % 60)))" \
    --counters 'Microsoft.AspNetCore.Hosting[http.server.request.duration],HealthRec,HealthRec.Data' >/dev/null 2>&1 &
  COUNTERS_PID=$!
  PIDS+=($COUNTERS_PID)
  sleep 1
fi
wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_TO_RUN}s" --latency -s tests/load/cds-patient-view.lua "$URL" 2>"$WORK/errors.log"
if [ -s "$WORK/errors.log" ]; then
  echo "responses other than 200 (first lines):" >&2
  head -5 "$WORK/errors.log" >&2
fi
if [ -n "${COUNTERS:-}" ]; then
  # The collector prints its one interval a moment after wrk ends, and stops by itself.
  wait "$COUNTERS_PID" 2>/dev/null || true
fi
