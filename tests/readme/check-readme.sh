#!/usr/bin/env bash
# Checks the README as a newcomer meets it, on this clone: it is short (at most 220 lines), every relative link in it
# and in docs/ points at a file that exists, and its commands run as written — the "Run it" command starts the server
# (on http://localhost:5000, as the README says), then each block marked ```bash tour runs in order against it, each
# with `set -euo pipefail`. Needs tests/services.sh up (tour step 2 reads the FHIR test server). Stops the server it
# started, also on failure; exits non-zero naming the first problem.
set -euo pipefail
cd "$(dirname "$0")/../.."
readme=README.md

lines=$(wc -l < "$readme")
[ "$lines" -le 220 ] || { echo "README.md has $lines lines (at most 220)" >&2; exit 1; }

# Relative links (files and images) in the README and docs/ must resolve.
/usr/bin/python3 - <<'PY'
import os, re, sys
bad = []
for path in ["README.md"] + [os.path.join("docs", f) for f in os.listdir("docs") if f.endswith(".md")]:
    text = open(path, encoding="utf-8").read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file = target.split("#")[0]
        if not os.path.exists(os.path.normpath(os.path.join(os.path.dirname(path), file))):
            bad.append(f"{path}: link to {target} does not resolve")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY

# The blocks: the first ```bash block under "## Run it", and every ```bash tour block, in order.
work=$(mktemp -d /tmp/healthrec-readme-XXXXXX)
/usr/bin/python3 - "$readme" "$work" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
run = re.search(r"## Run it\s+```bash\n(.*?)```", text, re.S)
if not run:
    sys.exit("README.md: no ```bash block under ## Run it")
open(f"{sys.argv[2]}/run.sh", "w").write(run.group(1))
tours = re.findall(r"```bash tour\n(.*?)```", text, re.S)
if not tours:
    sys.exit("README.md: no ```bash tour block")
for i, block in enumerate(tours, 1):
    open(f"{sys.argv[2]}/tour-{i}.sh", "w").write("set -euo pipefail\n" + block)
print(f"README.md: {len(tours)} tour blocks")
PY

if curl -s -o /dev/null http://localhost:5000/health/live; then
  echo "something already answers on localhost:5000: stop it first (the README's server listens there)" >&2
  exit 1
fi

# The server as the README starts it, in a process group of its own so that stopping it stops dotnet run's child.
setsid bash "$work/run.sh" > "$work/server.log" 2>&1 &
server=$!
stop() { kill -- -"$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap stop EXIT
for _ in $(seq 1 600); do
  curl -sf -o /dev/null http://localhost:5000/health/ready && break
  kill -0 "$server" 2>/dev/null || { echo "the README's run command exited:" >&2; tail -20 "$work/server.log" >&2; exit 1; }
  sleep 0.5
done
curl -sf -o /dev/null http://localhost:5000/health/ready || { echo "the server was not ready in 5 minutes" >&2; tail -20 "$work/server.log" >&2; exit 1; }

for block in "$work"/tour-*.sh; do
  name=$(basename "$block" .sh)
  echo "== $name"
  if ! timeout 300 bash "$block"; then
    echo "README.md: $name failed" >&2
    exit 1
  fi
done
echo "README.md: $lines lines, links resolve, the run command and every tour block ran"
