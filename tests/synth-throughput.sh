#!/usr/bin/env bash
# Throughput and memory of `healthrec synth` (issue targets: >= 5,000 patients/s written as NDJSON; a million
# patients with flat memory). Writes to a temporary folder on this machine's disk and deletes it; then generates
# 100,000 and 1,000,000 patients into files linked to /dev/null, to show peak memory does not grow with N.
# Usage: tests/synth-throughput.sh [patients-to-disk (default 100000)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
dotnet build src/HealthRec.Server -c Release -v q -nologo >/dev/null
BIN=src/HealthRec.Server/bin/Release/net10.0/healthrec
OUT=$(mktemp -d /tmp/healthrec-synth-XXXXXX)
trap 'rm -rf "$OUT"' EXIT

run() { # label, patients, folder
  /usr/bin/time -f "%e %M" -o "$OUT.time" "$BIN" synth --patients "$2" --seed 7 --out "$3" >/dev/null 2>&1
  read -r seconds kb < "$OUT.time"
  awk -v l="$1" -v n="$2" -v s="$seconds" -v kb="$kb" -v bytes="$(du -sb "$3" | cut -f1)" \
    'BEGIN { printf "%-28s %9d patients %7.1f s %8.0f patients/s  peak RSS %5.0f MB  %6.1f GB on disk\n", l, n, s, n / s, kb / 1024, bytes / 1e9 }'
}

run "NDJSON to disk" "$N" "$OUT/disk"
rm -rf "$OUT/disk"
for n in 100000 1000000; do
  mkdir -p "$OUT/null"
  for t in Patient Encounter Condition Observation QuestionnaireResponse MedicationStatement MedicationRequest ServiceRequest Procedure; do
    ln -sf /dev/null "$OUT/null/$t.ndjson"
  done
  run "generated, output discarded" "$n" "$OUT/null"
  rm -rf "$OUT/null"
done
rm -f "$OUT.time"
