#!/usr/bin/env bash
# Fresh machine → running service: services up, install, build, then start
# (start-up creates the database if missing and applies pending migrations).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
npm ci --no-audit --no-fund
npm run build
exec npm start
