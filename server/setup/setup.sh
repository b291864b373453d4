#!/usr/bin/env bash
# npm run setup: everything Slipway needs on a Debian 12 machine. Idempotent; quick when all is present.
#  1. Debian packages that are missing (as root), with no service of theirs started: git runc postgresql redis-server
#     iproute2 iptables debootstrap pigz, e2fsprogs and mount (dyno scratch disks); for the tests only (skipped with
#     SLIPWAY_NO_TEST_TOOLS=1, as on a production host): chromium, gcc and libc6-dev (the sandbox test builds a syscall
#     probe), skopeo, podman, docker-registry and apache2-utils' htpasswd (the release images are inspected, copied,
#     run and pushed with tools nobody here wrote), and the Heroku CLI
#  2. npm ci (skipped when node_modules matches package-lock.json)
#  3. the TypeScript build (dist/) and the dashboard (Vite, into dist/dashboard)
#  4. `slipway` on the PATH (/usr/local/bin as root, else ~/.local/bin)
#  5. the stacks (as root), and the Heroku CLI 11.10.0 the tests drive
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
say() { printf -- '-----> %s\n' "$*"; }

packages=(git runc postgresql redis-server iproute2 iptables debootstrap ca-certificates xz-utils pigz e2fsprogs mount curl openssl)
# Tools only the tests use; a production host skips them with SLIPWAY_NO_TEST_TOOLS=1.
test_packages=(chromium gcc libc6-dev skopeo podman docker-registry apache2-utils)
[ "${SLIPWAY_NO_TEST_TOOLS:-}" = 1 ] || packages+=("${test_packages[@]}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "Missing Debian packages: ${missing[*]} (run npm run setup as root to install them)"
  else
    say "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # No service a package brings is started (docker-registry would answer unauthenticated on :5000; redis-server
    # and postgresql on their ports): Slipway starts what it needs itself.
    blocker=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      blocker=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\nexit 101\n' > "$blocker" && chmod 755 "$blocker"
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -z "$blocker" ] || rm -f "$blocker"
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
  fi
else
  say "Debian packages present"
fi

# The add-on PostgreSQL's own OS user (never `postgres`, whose socket reaches the platform's database); the
# platform makes it too when missing.
if [ "$(id -u)" -eq 0 ] && ! id slipway-addon-pg >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin slipway-addon-pg
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f node_modules/.slipway-lock ] && [ "$(cat node_modules/.slipway-lock)" = "$lock_hash" ]; then
  say "node_modules up to date"
else
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.slipway-lock
fi

say "Building TypeScript"
npx --no-install tsc -p tsconfig.json
chmod +x dist/server/bin.js
say "Building the dashboard"
npx --no-install tsc -p web/tsconfig.json
npx --no-install vite build --config web/vite.config.ts

if [ "$(id -u)" -eq 0 ]; then bindir=/usr/local/bin; else bindir="$HOME/.local/bin"; mkdir -p "$bindir"; fi
ln -sfn "$root/dist/server/bin.js" "$bindir/slipway"
say "slipway is at $bindir/slipway"
case ":$PATH:" in *":$bindir:"*) ;; *) say "add $bindir to your PATH" ;; esac
if [ "$(id -u)" -eq 0 ]; then
  say "Stacks (Debian bookworm root filesystems for dynos and builds; built once per machine, ~3 min)"
  node dist/server/bin.js stack:build
else
  say "Not root: skipping the stacks (slipway stack:build needs root)"
fi
# The real Heroku CLI, which the compatibility tests drive (a test tool, not a product dependency).
heroku_dir=/var/cache/slipway-test/heroku-cli
if [ "${SLIPWAY_NO_TEST_TOOLS:-}" = 1 ]; then
  say "No test tools (SLIPWAY_NO_TEST_TOOLS=1)"
elif [ -x "$heroku_dir/node_modules/.bin/heroku" ] && grep -q '"version": "11.10.0"' "$heroku_dir/node_modules/heroku/package.json" 2>/dev/null; then
  say "Heroku CLI 11.10.0 present (for the tests)"
elif [ "$(id -u)" -eq 0 ]; then
  say "Installing the Heroku CLI 11.10.0 into $heroku_dir (for the tests)"
  mkdir -p "$heroku_dir"
  npm install --prefix "$heroku_dir" --no-audit --no-fund --loglevel=error heroku@11.10.0 >/dev/null
else
  say "Not root: skipping the Heroku CLI the tests use ($heroku_dir)"
fi
say "Setup done. Start with: npm start"
