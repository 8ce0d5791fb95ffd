#!/usr/bin/env bash
# HealthRec and the Python peer (tests/load/peer: scikit-learn behind Flask), side by side on this machine, on the same
# CDS Hooks patient-view requests, interleaved A, B, A, B so that the machine's drift falls on both alike.
#
#   tests/load/side-by-side.sh [pairs] [seconds]        (defaults 3 pairs of 20 s each)
#
# Requests: 20 patients of a generated cohort (healthrec synth, 2,000 patients, seed 1) whose prefetches hold 250–350
# resources, spread over that range (about 300 resources, 220 KB each). The peer learns its model from that cohort;
# HealthRec serves its default models. Each side is warmed up (WARMUP s,
# default 30) and then called by wrk at CONNECTIONS (default 16) connections without pause; per run: calls/s, p50 and
# p99 latency, the server's CPU per call (user + system time of its process over the run / calls) and its peak RSS.
# Prints one table and the ratios (HealthRec / peer). With BATCH=N (e.g. 10000) it also scores a generated cohort of N
# patients with `healthrec score` and the peer's `score`, interleaved, and prints patients/s and peak RSS of each. Installs wrk, python3-sklearn and python3-flask (Debian) when
# missing; everything listens on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PAIRS=${1:-3}
SECONDS_TO_RUN=${2:-20}
CONNECTIONS=${CONNECTIONS:-16}
WARMUP=${WARMUP:-30}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/healthrec-sbs-XXXXXX)
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

missing=()
command -v bc >/dev/null || missing+=(bc)
command -v wrk >/dev/null || missing+=(wrk)
$PY -c 'import sklearn' 2>/dev/null || missing+=(python3-sklearn)
$PY -c 'import flask' 2>/dev/null || missing+=(python3-flask)
if [ ${#missing[@]} -gt 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; fi
free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

dotnet build src/HealthRec.Server -c Release -nologo -clp:ErrorsOnly >/dev/null
src/HealthRec.Server/bin/Release/net10.0/healthrec synth --patients 2000 --seed 1 --out "$WORK/cohort" >/dev/null 2>&1
$PY tests/load/make-requests.py --input "$WORK/cohort" --out "$WORK/requests" --min-resources 250 --max-resources 350 >&2
$PY tests/load/peer/peer.py train --input "$WORK/cohort" --model "$WORK/peer.pkl"

HR_PORT=$(free_port)
src/HealthRec.Server/bin/Release/net10.0/healthrec serve --urls "http://127.0.0.1:$HR_PORT" --Storage:SqlitePath "$WORK/healthrec.db" \
  --Storage:AuditSpoolPath "$WORK/audit-spool" --Logging:LogLevel:Default=Warning >"$WORK/healthrec.log" 2>&1 &
HR_PID=$!; PIDS+=($HR_PID)
PEER_PORT=$(free_port)
$PY tests/load/peer/peer.py serve --model "$WORK/peer.pkl" --port "$PEER_PORT" >"$WORK/peer.log" 2>&1 &
PEER_PID=$!; PIDS+=($PEER_PID)
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$HR_PORT/health/ready" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$PEER_PORT/health" >/dev/null 2>&1 && break; sleep 0.5; done

export CDS_REQUESTS="$WORK/requests" CDS_PACE_MS=0
url() { [ "$1" = healthrec ] && echo "http://127.0.0.1:$HR_PORT/cds-services/healthrec-patient-risk" || echo "http://127.0.0.1:$PEER_PORT/cds-services/healthrec-patient-risk"; }
pid() { [ "$1" = healthrec ] && echo $HR_PID || echo $PEER_PID; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for side in healthrec peer; do
  echo "warming up $side for ${WARMUP} s" >&2
  wrk -t2 -c"$CONNECTIONS" -d"${WARMUP}s" -s tests/load/cds-patient-view.lua "$(url $side)" >/dev/null 2>&1
done

HZ=$(getconf CLK_TCK)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
printf '%s\n' "side pair calls_per_s p50_ms p99_ms cpu_ms_per_call peak_rss_mb" >"$WORK/table"
for pair in $(seq 1 "$PAIRS"); do
  for side in healthrec peer; do
    before=$(ticks "$(pid $side)")
    wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_TO_RUN}s" --latency -s tests/load/cds-patient-view.lua "$(url $side)" >"$WORK/wrk.out" 2>"$WORK/wrk.err"
    after=$(ticks "$(pid $side)")
    rss=$(awk '/VmHWM/ {print $2 / 1024}' "/proc/$(pid $side)/status")
    $PY - "$WORK/wrk.out" "$side" "$pair" "$((after - before))" "$HZ" "$rss" >>"$WORK/table" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
side, pair, ticks, hz, rss = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
def ms(label):
    m = re.search(r"^\s*" + label + r"%\s+([\d.]+)(us|ms|s)\b", text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
calls = int(re.search(r"(\d+) requests in", text).group(1))
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
print(f"{side} {pair} {rate:.1f} {ms('50'):.1f} {ms('99'):.1f} {ticks * 1000 / hz / max(calls, 1):.2f} {rss:.0f}")
PYEOF
    tail -1 "$WORK/table" >&2
    if grep -q "HTTP [^2]" "$WORK/wrk.err"; then echo "$side answered errors:" >&2; head -3 "$WORK/wrk.err" >&2; exit 1; fi
  done
done

echo
echo "Side by side, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average before the runs (after warm-up): $LOAD_BEFORE"
echo "requests: $(ls "$WORK/requests" | wc -l) patient-view bodies, $(du -sk "$WORK/requests" | cut -f1) KB in all; $CONNECTIONS connections, no pause, ${SECONDS_TO_RUN} s per run"
$PY - "$WORK/table" <<'PYEOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]).read().splitlines()[1:]]
print(f"{'side':10} {'pair':>4} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/call':>12} {'peak RSS MB':>12}")
for r in rows:
    print(f"{r[0]:10} {r[1]:>4} {r[2]:>9} {r[3]:>8} {r[4]:>8} {r[5]:>12} {r[6]:>12}")
pairs = {}
for r in rows:
    pairs.setdefault(r[1], {})[r[0]] = r
ratios = [(float(p["healthrec"][2]) / float(p["peer"][2]), float(p["peer"][5]) / float(p["healthrec"][5])) for p in pairs.values()]
print("ratios per pair (HealthRec / peer): calls/s " + ", ".join(f"{a:.1f}x" for a, _ in ratios)
      + "; CPU per call (peer / HealthRec) " + ", ".join(f"{b:.1f}x" for _, b in ratios))
print(f"median: calls/s {statistics.median(a for a, _ in ratios):.1f}x, CPU per call {statistics.median(b for _, b in ratios):.1f}x")
PYEOF

if [ -n "${BATCH:-}" ]; then
  src/HealthRec.Server/bin/Release/net10.0/healthrec synth --patients "$BATCH" --seed 2 --out "$WORK/batch" >/dev/null 2>&1
  echo
  echo "Batch scoring of $BATCH generated patients ($(du -sh "$WORK/batch" | cut -f1) of NDJSON), interleaved:"
  printf '%-10s %4s %10s %12s %12s\n' side pair seconds patients/s "peak RSS MB"
  for pair in $(seq 1 "$PAIRS"); do
    for side in healthrec peer; do
      if [ "$side" = healthrec ]; then
        /usr/bin/time -f '%e %M' -o "$WORK/time" src/HealthRec.Server/bin/Release/net10.0/healthrec score --input "$WORK/batch" --out "$WORK/scores.csv" >/dev/null 2>&1
      else
        /usr/bin/time -f '%e %M' -o "$WORK/time" $PY tests/load/peer/peer.py score --input "$WORK/batch" --model "$WORK/peer.pkl" --out "$WORK/scores.csv" >/dev/null 2>&1
      fi
      read -r elapsed rss <"$WORK/time"
      printf '%-10s %4s %10s %12.0f %12.0f\n' "$side" "$pair" "$elapsed" "$(echo "$BATCH / $elapsed" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
    done
  done
fi
