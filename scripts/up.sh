#!/usr/bin/env bash
# The stack command: installs what it needs, builds, migrates, starts the Didit sandbox, partner-a,
# partner-b and the console with the development configuration, runs one demo share end to end and
# prints each step, then streams the services' logs. Ctrl-C stops everything.
# The flags are scripts/stack.ts's (`pnpm stack --help`); they are checked here first so a typo
# fails at once, not after the install and build. tests/platform/cli-help.test.ts keeps both lists equal.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: bash scripts/up.sh [options]

Installs what the stack needs (Node.js of .node-version in .tools/, pnpm, the dependencies), builds,
then runs `pnpm stack`: migrates the partner databases, starts the Didit sandbox, partner-a, partner-b
and the console with the development configuration (infra/dev), runs one demo share end to end, then
streams every service's log lines until Ctrl-C.

Options:
  --no-demo          start the stack without the demo share
  --exit-after-demo  stop after the demo: exit 0 when the share ended imported at both sides, 1 otherwise
  --demo-only        the same as --exit-after-demo
  --interactive      on a terminal, wait for you to finish the hosted page in a browser
  --verbose          also log successful GET requests (the console polls every second)
  --raw-logs         print the services' JSON log lines as they are
  -h, --help         display this help

Environment: as `pnpm stack --help` says (STACK_PORTS, STACK_PARTNER_A_DATABASE_URL,
STACK_PARTNER_B_DATABASE_URL, STACK_KEYS_DIR, STACK_APPLICATIONS_FILE, STACK_FROM_SOURCE, LOG_LEVEL,
REDIS_URL, QUEUE_PREFIX).

Exit status: 0 stopped cleanly (or the demo share was imported, with --exit-after-demo); 1 the
install, the build or the stack failed, or the demo share did not end imported; 2 usage or
configuration error.
EOF
}

# Help wins wherever it stands, as with commander; then every argument must be a known flag.
for arg in "$@"; do
  case "$arg" in -h | --help) usage && exit 0 ;; esac
done
for arg in "$@"; do
  case "$arg" in
    --no-demo | --exit-after-demo | --demo-only | --interactive | --verbose | --raw-logs) ;;
    -*)
      echo "error: unknown option '$arg' (run 'bash scripts/up.sh --help' for usage)" >&2
      exit 2
      ;;
    *)
      echo "error: unexpected argument '$arg' (run 'bash scripts/up.sh --help' for usage)" >&2
      exit 2
      ;;
  esac
done

source scripts/lib/tooling.sh
ensure_dependencies
echo "==> build"
pnpm build --output-logs=errors-only
exec node --conditions=source --import tsx scripts/stack.ts "$@"
