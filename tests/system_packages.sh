#!/bin/sh
# Install what the tests need from the system when missing: Debian's Chromium and CJK fonts for the
# browser tests, docker-compose and nginx to check the deploy files (docs/deploy/), npm for axe-core
# (the accessibility engine of tests/browser/test_accessibility.py, pinned in tests/browser/axe/).
set -eu
axe_dir="$(dirname "$0")/browser/axe"
need=""
command -v npm >/dev/null 2>&1 || need="$need npm"
[ -x /usr/bin/chromium ] || need="$need chromium"
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need="$need fonts-noto-cjk"
command -v docker-compose >/dev/null 2>&1 || need="$need docker-compose"
command -v nginx >/dev/null 2>&1 || need="$need nginx"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
install_axe() {
  # The lock file pins axe-core's version and hash; node_modules/ is ignored by git.
  [ -f "$axe_dir/node_modules/axe-core/axe.min.js" ] && return 0
  echo "installing axe-core from the npm registry into $axe_dir for the tests" >&2
  npm ci --prefix "$axe_dir" --no-audit --no-fund --loglevel=error
}
if [ -z "$need" ]; then
  install_axe
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "The tests need Debian's$need. Install them as root, then run the tests again:" >&2
  echo "  apt-get update && apt-get install -y$need" >&2
  exit 1
fi
echo "installing$need from Debian's packages for the tests" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086  # the package names are meant to split
$sudo apt-get install -y -qq $need >/dev/null
install_axe
