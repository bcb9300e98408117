#!/usr/bin/env bash
# The stack command: installs what it needs, builds, migrates, starts the Didit sandbox, partner-a,
# partner-b and the console with the development configuration, runs one demo share end to end and
# prints each step, then streams the services' logs. Ctrl-C stops everything.
# Flags go to scripts/stack.ts: --no-demo, --exit-after-demo, --interactive, --verbose, --raw-logs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tooling.sh
ensure_dependencies
echo "==> build"
pnpm build --output-logs=errors-only
exec node --conditions=source --import tsx scripts/stack.ts "$@"
