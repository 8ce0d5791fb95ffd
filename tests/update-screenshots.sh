#!/usr/bin/env bash
# Copies the screenshots the browser tests wrote (tests/artifacts/, ignored by git) to docs/images/, where the README
# and docs show them. Run after the test command (with tests/services.sh up and Chromium installed), then commit.
set -euo pipefail
cd "$(dirname "$0")/.."
for name in smart-patient-view console-home console-model; do
  src="tests/artifacts/$name.png"
  [ -f "$src" ] || { echo "missing $src: run the tests first (README, Test it)" >&2; exit 2; }
  cp "$src" "docs/images/$name.png"
  echo "docs/images/$name.png"
done
