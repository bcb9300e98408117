#!/usr/bin/env bash
# The stack command: installs what it needs, builds, migrates, and starts the Didit sandbox,
# partner-a and partner-b with the development configuration. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/tooling.sh
ensure_dependencies
echo "==> build"
pnpm build --output-logs=errors-only
exec node --conditions=source --import tsx scripts/stack.ts "$@"
