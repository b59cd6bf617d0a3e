#!/usr/bin/env bash
# Installs the build and test tools rentwise needs, idempotently, from the package registries only
# (crates.io, npm, Debian). Quick when everything is already there. Sourced by run.sh and test.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/target/tools"
CARGO_LEPTOS_VERSION=0.3.11
# The wasm-bindgen-cli version must equal the `wasm-bindgen = "=X"` pin in Cargo.toml.
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$ROOT/Cargo.toml" 2>/dev/null || true)"
BINARYEN_NPM_VERSION=132.0.0
CARGO_AUDIT_VERSION=0.22.2

log() { printf '\033[1m[tools]\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get install ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Installs Debian package $2 when command $1 is missing (benchmark and scale-out tools). The
# index is refreshed only when the plain install fails, so a fresh index costs no `apt-get update`.
ensure_command() {
  command -v "$1" >/dev/null && return 0
  log "apt-get install $2"
  local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2")
  as_root "${install[@]}" >/dev/null 2>&1 || { as_root apt-get update -qq && as_root "${install[@]}" >/dev/null; } ||
    { log "could not install $2 with apt-get."; exit 1; }
}

ensure_wasm_target() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown && return 0
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
}

ensure_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then return 0; fi
  # `cargo install --locked` fails on current rustc (its lockfile pins a cargo-util-schemas that
  # needs a newer compiler), so build from the registry source with that one crate pinned back.
  log "building cargo-leptos $CARGO_LEPTOS_VERSION (no_downloads); about 16 minutes once"
  local src="$TOOLS/src/cargo-leptos-$CARGO_LEPTOS_VERSION"
  if [ ! -f "$src/Cargo.toml" ]; then
    mkdir -p "$TOOLS/src"
    local crate
    crate="$(find "$HOME/.cargo/registry/cache" -name "cargo-leptos-$CARGO_LEPTOS_VERSION.crate" 2>/dev/null | head -1)"
    if [ -z "$crate" ]; then
      cargo info "cargo-leptos@$CARGO_LEPTOS_VERSION" >/dev/null 2>&1 || true
      crate="$(find "$HOME/.cargo/registry/cache" -name "cargo-leptos-$CARGO_LEPTOS_VERSION.crate" | head -1)"
    fi
    [ -n "$crate" ] || { log "could not download cargo-leptos $CARGO_LEPTOS_VERSION from crates.io"; exit 1; }
    tar -xzf "$crate" -C "$TOOLS/src"
  fi
  # The source sits under this workspace's target/; an empty [workspace] table keeps cargo from
  # treating it as an unlisted member of ours.
  grep -q '^\[workspace\]' "$src/Cargo.toml" || printf '\n[workspace]\n' >> "$src/Cargo.toml"
  (cd "$src" && cargo update -q -p cargo-util-schemas --precise 0.14.1 &&
    cargo install -q --path . --locked --features no_downloads)
}

ensure_wasm_bindgen() {
  if wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then return 0; fi
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  # Not --locked: its lockfile also wants a newer rustc.
  cargo install -q wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
}

ensure_cargo_audit() {
  if cargo audit --version 2>/dev/null | grep -q " $CARGO_AUDIT_VERSION\$"; then return 0; fi
  # Without binary scanning (the default feature), which `./x audit` does not use: fewer crates
  # to build. --locked works on current rustc (it needs 1.88).
  log "cargo install cargo-audit $CARGO_AUDIT_VERSION; about 4 to 7 minutes once"
  cargo install -q --locked cargo-audit --version "$CARGO_AUDIT_VERSION" --no-default-features --force
}

ensure_wasm_opt() {
  # npm's binaryen works; Debian's binaryen 108 silently breaks hydration, so never use it.
  local dir="$TOOLS/binaryen"
  if [ ! -x "$dir/node_modules/.bin/wasm-opt" ]; then
    ensure_node
    log "npm install binaryen@$BINARYEN_NPM_VERSION"
    mkdir -p "$dir"
    npm install --silent --no-audit --no-fund --prefix "$dir" "binaryen@$BINARYEN_NPM_VERSION" >/dev/null
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

ensure_node() {
  command -v npm >/dev/null && command -v node >/dev/null && return 0
  apt_install nodejs npm
}

ensure_build_tools() {
  ensure_node
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_wasm_opt
  ensure_cargo_leptos
}

ensure_browser_tools() {
  ensure_node
  apt_install chromium
  if [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ]; then
    log "npm ci (end2end)"
    (cd "$ROOT/end2end" && npm ci --silent --no-audit --no-fund >/dev/null)
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  ensure_build_tools
  ensure_browser_tools
fi
