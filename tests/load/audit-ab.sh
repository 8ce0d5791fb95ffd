#!/usr/bin/env bash
# What the audit trail adds to a CDS call: interleaved A/B runs of tests/load/cds-load.sh on a copy of this tree as it is (with)
# and on a copy with tests/load/without-audit.patch applied (the same code, the call answering without its audit
# records: never a build to deploy), printing for each run wrk's p99 and, from the server's meters (ms), the
# request duration's p99 (ASP.NET Core), the time a call spends on its audit records and the journal write's part of it.
#
#   tests/load/audit-ab.sh [pairs] [seconds] [pace-ms]      (defaults 5, 30, 40: the CDS Hooks benchmark's paced load)
#
# Runs alternate (without, with, without, ...) so that the machine's drift over the minutes falls on both alike. Each
# run warms up for WARMUP seconds (cds-load.sh's default, 60). Everything runs on 127.0.0.1 and stops by itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PAIRS=${1:-5}
SECONDS_TO_RUN=${2:-30}
PACE=${3:-40}
WORK=$(mktemp -d /tmp/healthrec-ab-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Both trees are copies of this one's files as they are now (committed or not), so that editing it meanwhile changes
# neither; the baseline has the patch applied.
for tree in with without; do
  mkdir -p "$WORK/$tree" && git ls-files -co --exclude-standard -z | tar --null -T - -cf - | tar -xf - -C "$WORK/$tree"
done
patch -s -p1 -d "$WORK/without" <tests/load/without-audit.patch || { echo "tests/load/without-audit.patch no longer applies to this tree; update it" >&2; exit 1; }

p99() { # wrk's 99% line, in ms
  awk '$1 == "99%" { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 } printf "%.1f", v }' "$1"
}
rate() { awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$1"; }
p99_of() { # the p99 of the collector's CSV rows matching a text, times a scale (ASP.NET Core's seconds to ms), or "-"
  awk -F, -v name="$2" -v scale="$3" 'index($0, name) && /Percentile=99/ { v = $NF } END { if (v != "") printf "%.2f", v * scale; else printf "-" }' "$1"
}

printf '%-4s %-8s %8s %9s %11s %10s %12s\n' run tree calls/s "wrk p99" "server p99" "audit p99" "journal p99"
for i in $(seq 1 "$PAIRS"); do
  for tree in without with; do
    COUNTERS="$WORK/$tree-$i.csv" "$WORK/$tree/tests/load/cds-load.sh" prefetch "$SECONDS_TO_RUN" "$PACE" >"$WORK/$tree-$i.txt" 2>"$WORK/$tree-$i.err" ||
      { echo "the run $tree-$i failed:" >&2; tail -20 "$WORK/$tree-$i.err" >&2; exit 1; }
    csv=$WORK/$tree-$i.csv
    printf '%-4s %-8s %8s %9s %11s %10s %12s\n' "$i" "$tree" "$(rate "$WORK/$tree-$i.txt")" "$(p99 "$WORK/$tree-$i.txt")" "$(p99_of "$csv" 'route=/cds-services/{id}' 1000)" \
      "$(p99_of "$csv" 'healthrec.audit.duration (ms)[operation=cds-call' 1)" "$(p99_of "$csv" 'healthrec.audit.journal.duration' 1)"
  done
done
