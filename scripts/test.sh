#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test against real PostgreSQL
# and Redis (DATABASE_URL / REDIS_URL, default the local servers on 127.0.0.1).
# Extra arguments go to vitest, e.g. `bash scripts/test.sh --project partner-a`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tooling.sh
ensure_test_tools
ensure_dependencies
echo "==> build"
pnpm build --output-logs=errors-only
echo "==> test"
pnpm test "$@"
