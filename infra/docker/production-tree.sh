#!/bin/sh
# Turns a pruned, built workspace (`turbo prune --docker`, `pnpm install`, `turbo run build`) into
# what a service's image runs, at DEST:
#   - production dependencies only: pino-pretty, vitest, tsx, typescript... stay behind;
#   - exactly the lockfile's versions: `pnpm install --frozen-lockfile --offline` installs from the
#     lockfile and the store the full install filled, so nothing is re-resolved or downloaded
#     (`pnpm deploy --legacy`, used before, re-resolved against the registry);
#   - builds, manifests, migrations and node_modules; no sources, tests or build configuration.
# Workspace packages stay where they are and are linked as in development: production runs plain
# node, which resolves them through their "default" export (dist/*.js).
#
# Usage (from the workspace root): sh production-tree.sh SERVICE DEST
# The Dockerfile runs it; tests/platform/production-tree.test.ts runs it on a pruned copy.
set -eu
service="$1"
dest="$2"
[ -f "services/$service/dist/server.js" ] || { echo "services/$service/dist/server.js is missing: build first" >&2; exit 1; }

selection="@share-broker/$service..."
# The service and the workspace packages it needs at run time (--filter-prod leaves out those it
# only develops with, such as packages/testing, and their dependencies: vitest, testcontainers).
projects="$(pnpm ls --filter-prod "$selection" --depth -1 --parseable)"

rm -rf node_modules packages/*/node_modules services/*/node_modules
pnpm install --frozen-lockfile --prod --offline --filter-prod "$selection" --reporter=append-only >/dev/null

mkdir -p "$dest"
cp -a package.json node_modules "$dest/"
root="$(pwd)"
for project in $projects; do
  dir="${project#"$root"/}"
  mkdir -p "$dest/$dir"
  for part in package.json dist drizzle node_modules; do
    if [ -e "$dir/$part" ]; then cp -a "$dir/$part" "$dest/$dir/"; fi
  done
done
test -f "$dest/services/$service/dist/server.js"
if [ -d "services/$service/drizzle" ]; then test -f "$dest/services/$service/drizzle/meta/_journal.json"; fi
