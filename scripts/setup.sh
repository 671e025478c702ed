#!/usr/bin/env bash
# Everything a fresh machine needs before `ipx` or the tests run. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "ipx setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
bash scripts/install-tools.sh
# The launcher's bundle of the sources (scripts/bundle.mjs): built here once rather than by the
# first of many processes started at once.
node scripts/ipx.mjs --version >/dev/null
