#!/usr/bin/env bash
# The test command: installs what it needs, builds, and runs every test against real PostgreSQL
# and Redis (DATABASE_URL / REDIS_URL, default the local servers on 127.0.0.1).
# Arguments are checked before anything is installed, so a typo fails at once; vitest's other
# options go after `--`, e.g. `bash scripts/test.sh --project partner-a -- --reporter=verbose`.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: bash scripts/test.sh [--project <name>]... [<file filter>...] [-- <vitest option>...]

Installs what the tests need (Node.js of .node-version in .tools/, pnpm, the dependencies, and
Debian's docker-compose and chromium through apt when root), builds, then runs the tests with vitest
against real PostgreSQL and Redis.

Options:
  --project <name>  run one vitest project only: a package or service folder name (service-kit,
                    didit, channel, testing, console, harness, didit-sandbox, partner-a, partner-b)
                    or stack (tests/); may be repeated
  <file filter>     run only the test files whose path contains it
  --                everything after it goes to vitest as it is (e.g. -- -t "share list")
  -h, --help        display this help

Environment: DATABASE_URL (a PostgreSQL server where tests may create databases) and REDIS_URL,
default the local servers on 127.0.0.1; CHROMIUM_PATH (default /usr/bin/chromium); CI=true also
writes test-results/junit.xml.

Exit status: 0 every test passed; 1 the install, the build or a test failed; 2 usage error.
EOF
}

usage_error() {
  echo "error: $1 (run 'bash scripts/test.sh --help' for usage)" >&2
  exit 2
}

# Help wins wherever it stands before `--`; then every argument must be one of ours.
for arg in "$@"; do
  case "$arg" in
    --) break ;;
    -h | --help) usage && exit 0 ;;
  esac
done
vitest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --)
      shift
      vitest_args+=("$@")
      break
      ;;
    --project)
      { [ $# -ge 2 ] && [ -n "$2" ] && [ "${2#-}" = "$2" ]; } || usage_error "option '--project <name>' argument missing"
      vitest_args+=("$1" "$2")
      shift 2
      ;;
    --project=?*)
      vitest_args+=("$1")
      shift
      ;;
    -*) usage_error "unknown option '$1'" ;;
    *)
      vitest_args+=("$1")
      shift
      ;;
  esac
done

source scripts/lib/tooling.sh
ensure_test_tools
ensure_dependencies
echo "==> build"
pnpm build --output-logs=errors-only
echo "==> test"
pnpm test "${vitest_args[@]}"
