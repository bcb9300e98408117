# Shared by scripts/up.sh, scripts/test.sh and .ci/run: put the project's Node.js on PATH, make sure
# the pinned pnpm is there, and install dependencies from the lockfile.
#
# Node: the project runs on the release line named in .node-version (24 LTS). When the host's
# `node` is of another major (Debian ships 20), the pinned version is taken from the npm registry's
# `node-linux-<arch>` package, which ships the official binary (npm checks the tarball's integrity
# against the registry), and unpacked into .tools/ (git-ignored). Nothing is downloaded from
# anywhere but the package registry. Corepack's signature check fails against some registries,
# so pnpm is installed with npm at the version package.json pins.

# turbo would otherwise try to send usage telemetry, and this project reaches package registries only.
export TURBO_TELEMETRY_DISABLED=1

TOOLING_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NODE_VERSION="$(tr -d '[:space:]' <"$TOOLING_ROOT/.node-version")"
NODE_MAJOR="${NODE_VERSION%%.*}"

host_node_major() {
  command -v node >/dev/null 2>&1 || return 1
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null
}

node_package_name() {
  local arch
  case "$(uname -m)" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) return 1 ;;
  esac
  [ "$(uname -s)" = Linux ] || return 1
  echo "node-linux-$arch"
}

# Unpacks bin/node of node-linux-<arch>@NODE_VERSION into .tools/node-vNODE_VERSION/bin.
install_project_node() {
  local package="$1" target="$2" scratch
  scratch="$(mktemp -d)"
  if ! (cd "$scratch" && npm pack --silent "$package@$NODE_VERSION" >/dev/null); then
    rm -rf "$scratch"
    echo "could not fetch $package@$NODE_VERSION from the npm registry (npm pack failed)" >&2
    return 1
  fi
  mkdir -p "$target.partial/bin"
  tar -xzf "$scratch"/*.tgz -C "$target.partial/bin" --strip-components=2 package/bin/node
  rm -rf "$scratch"
  # Renamed into place only once complete, so an interrupted install is never mistaken for one.
  rm -rf "$target" && mv "$target.partial" "$target"
}

ensure_node() {
  local host_major package target
  target="$TOOLING_ROOT/.tools/node-v$NODE_VERSION"
  host_major="$(host_node_major || echo none)"
  if [ "$host_major" = "$NODE_MAJOR" ]; then
    if [ "$(command -v node)" = "$target/bin/node" ]; then
      echo "==> node: Node $(node --version) from .tools/node-v$NODE_VERSION, already first on PATH"
    else
      echo "==> node: host Node $(node --version) is on the project's line ($NODE_MAJOR, .node-version)"
    fi
    return 0
  fi
  if ! package="$(node_package_name)"; then
    echo "Node.js $NODE_MAJOR is needed (host has ${host_major}); install Node.js $NODE_VERSION and put it first on PATH" >&2
    return 1
  fi
  local action="reused"
  if [ ! -x "$target/bin/node" ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm is needed to fetch $package@$NODE_VERSION" >&2; return 1; }
    install_project_node "$package" "$target" || return 1
    action="installed"
  fi
  export PATH="$target/bin:$PATH"
  hash -r
  if [ "$(node --version)" != "v$NODE_VERSION" ]; then
    echo "expected node v$NODE_VERSION on PATH, got $(node --version)" >&2
    return 1
  fi
  echo "==> node: $action Node v$NODE_VERSION ($package from the npm registry) in .tools/node-v$NODE_VERSION, first on PATH (host has ${host_major})"
}

ensure_pnpm() {
  local version
  version="$(node -p 'require(process.argv[1]).packageManager.split("@")[1]' "$TOOLING_ROOT/package.json")"
  if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$version" ]; then
    echo "==> installing pnpm $version"
    npm install -g "pnpm@$version" >/dev/null
  fi
}

apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null && APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# What the tests drive besides Node: the standalone docker-compose (the compose file is validated
# with `docker-compose config`, no engine needed) and Debian's chromium (the console's browser test,
# through playwright-core, which downloads no browser). Installed through apt when running as root;
# otherwise the command stops at once, naming what to install. A test never skips for want of them.
ensure_test_tools() {
  local missing=()
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "the tests need ${missing[*]}: run \`sudo apt-get install -y ${missing[*]}\` (or set CHROMIUM_PATH), then try again" >&2
    return 1
  fi
  echo "==> apt-get install ${missing[*]}"
  apt_install "${missing[@]}"
}

ensure_dependencies() {
  ensure_node || return 1
  ensure_pnpm || return 1
  echo "==> pnpm install --frozen-lockfile"
  pnpm install --frozen-lockfile --reporter=append-only | tail -n 3
}
