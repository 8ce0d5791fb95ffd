#!/usr/bin/env bash
# Runs a command and reports its peak memory, sampled from /proc every 0.2 s:
#
#   tests/load/peak-rss.sh COMMAND [ARGS...]
#
# Prints the command's output, then one line: exit status, peak anonymous RSS (what the process itself holds: GC heap,
# native allocations, stacks), peak file-backed RSS (mapped files such as an NDJSON index's inputs: page cache the
# kernel can take back) and peak VmRSS (their sum with shared memory, what `time -v` calls maximum resident set size).
set -uo pipefail
"$@" &
pid=$!
anon=0; file=0; rss=0
while kill -0 "$pid" 2>/dev/null; do
  read -r a f r < <(awk '/^RssAnon/ {a = $2} /^RssFile/ {f = $2} /^VmRSS/ {r = $2} END {print a + 0, f + 0, r + 0}' "/proc/$pid/status" 2>/dev/null || echo 0 0 0)
  [ "${a:-0}" -gt "$anon" ] && anon=$a
  [ "${f:-0}" -gt "$file" ] && file=$f
  [ "${r:-0}" -gt "$rss" ] && rss=$r
  sleep 0.2
done
wait "$pid"
status=$?
echo "exit $status; peak RssAnon $((anon / 1024)) MB, RssFile $((file / 1024)) MB, VmRSS $((rss / 1024)) MB" >&2
exit $status
