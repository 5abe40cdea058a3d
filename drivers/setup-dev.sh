#!/usr/bin/env bash
# Install everything the library and its tests need on a Debian/Ubuntu machine (run as root, or with sudo
# available): the PC/SC daemon and the vpcd virtual reader used by the end-to-end tests, the pyscard build
# dependency, zbar for the optional pyzbar backend, then the package itself with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1; then
  need=()
  for pkg in libpcsclite-dev pcscd vsmartcard-vpcd libzbar0 chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
  done
  if ((${#need[@]})); then
    $SUDO apt-get update -qq
    # --no-install-recommends: vpcd recommends Debian's vicc, which is broken on bookworm
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
else
  echo "setup-dev: no apt-get here; install pcscd, vpcd (vsmartcard), libpcsclite headers, zbar, chromium and" \
       "chromedriver yourself" >&2
fi

python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
