#!/usr/bin/env bash
# Installs what the test suite needs from Debian (SPEC/README contract: `npm ci && npm test`
# on a fresh machine does all the set-up). Idempotent: does nothing when all is present.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "The tests need these Debian packages: ${need[*]}" >&2
  echo "Install them as root:  apt-get update && apt-get install -y ${need[*]}" >&2
  exit 1
fi

echo "Installing test dependencies from Debian: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "Installed: ${need[*]}"
