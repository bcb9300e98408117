# Shared by the scripts in this folder: make sure the pinned pnpm is on PATH and dependencies are
# installed from the lockfile. Corepack's signature check fails against some registries, so pnpm
# is installed with npm at the version package.json pins.
PNPM_VERSION="$(node -p 'require("./package.json").packageManager.split("@")[1]')"

ensure_pnpm() {
  if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    echo "==> installing pnpm $PNPM_VERSION"
    npm install -g "pnpm@$PNPM_VERSION" >/dev/null
  fi
}

ensure_dependencies() {
  ensure_pnpm
  echo "==> pnpm install --frozen-lockfile"
  pnpm install --frozen-lockfile --reporter=append-only | tail -n 3
}
