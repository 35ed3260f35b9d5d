#!/usr/bin/env bash
# Runs every test (unit and e2e) against the local PostgreSQL and Redis, which it starts if
# needed. Builds first: some e2e tests run the compiled service as separate processes.
# Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh || { echo "0 passed, 1 failed"; exit 1; }
npx nest build >/dev/null || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

report="$(mktemp -t vitest-XXXXXX.json)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
# A run that failed without a failing test (a file that did not load) still counts as failed.
node -e '
  const fs = require("node:fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  const passed = r.numPassedTests ?? 0;
  let failed = r.numFailedTests ?? 0;
  if (process.argv[2] !== "0" && failed === 0) failed = Math.max(1, r.numFailedTestSuites ?? 0);
  console.log(`${passed} passed, ${failed} failed`);
' "$report" "$status"
rm -f "$report"
exit $status
