#!/usr/bin/env bash
# Try cccd-reader without hardware: start pcscd (if it is not running) and put a built-in sample card
# (a synthetic person) on the vpcd virtual reader, then read it with the ordinary PC/SC path:
#
#   bash drivers/setup-virtual-reader.sh [SAMPLE]        # default sample: an; Ctrl-C stops it
#   cccd-read read --reader "Virtual PCD 00 00" --qr-text "$(python3 -c \
#       'from cccd_reader.emulator.samples import sample_qr_payload; print(sample_qr_payload("an"))')"
#
# Needs pcscd and the vpcd driver (apt-get install --no-install-recommends pcscd vsmartcard-vpcd, or
# drivers/setup-dev.sh) and root to start pcscd. There is one pcscd per machine; vpcd offers two slots,
# TCP 35963 ("Virtual PCD 00 00") and 35964 ("Virtual PCD 00 01"): the first free one is used (the
# tests lock slots the same way), VPCD_PORT=35964 asks for the second.
set -euo pipefail
cd "$(dirname "$0")/.."

SAMPLE="${1:-an}"
PORT="${VPCD_PORT:-}"
PYTHON="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

readers_ready() {
  "$PYTHON" -c 'from smartcard.System import readers; import sys; sys.exit(0 if any(str(r).startswith("Virtual PCD") for r in readers()) else 1)' 2>/dev/null
}

if ! command -v pcscd >/dev/null 2>&1 && [ ! -x /usr/sbin/pcscd ]; then
  echo "setup-virtual-reader: pcscd is not installed (run drivers/setup-dev.sh)" >&2
  exit 3
fi
if [ ! -e /etc/reader.conf.d/vpcd ]; then
  echo "setup-virtual-reader: the vpcd driver is not installed (apt-get install --no-install-recommends vsmartcard-vpcd)" >&2
  exit 3
fi

STARTED_PCSCD=""
if ! readers_ready; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-virtual-reader: pcscd is not running with vpcd; start it as root: sudo pcscd --foreground --error &" >&2
    exit 3
  fi
  # no systemd needed: run the daemon in the foreground as a child of this script
  "$(command -v pcscd || echo /usr/sbin/pcscd)" --foreground --error &
  STARTED_PCSCD=$!
  for _ in $(seq 100); do readers_ready && break; sleep 0.1; done
  readers_ready || { echo "setup-virtual-reader: pcscd did not list the Virtual PCD readers" >&2; exit 3; }
fi

# hold the slot's lock (the same one the PC/SC tests take) so that two cards never share a slot
if command -v flock >/dev/null 2>&1; then
  for candidate in ${PORT:-35963 35964}; do
    exec 9>>"/tmp/cccd-reader-vpcd-$candidate.lock" 2>/dev/null || exec 9<"/tmp/cccd-reader-vpcd-$candidate.lock"
    if flock -n 9; then PORT=$candidate; break; fi
    exec 9>&-
    PORT=""
  done
  if [ -z "$PORT" ]; then
    echo "setup-virtual-reader: the vpcd slot(s) are in use (tests running?); try again later" >&2
    exit 8
  fi
fi
PORT="${PORT:-35963}"
SLOT=$((PORT - 35963))

BRIDGE=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$BRIDGE" ]; then kill "$BRIDGE" 2>/dev/null || true; fi
  # stop pcscd only if this script started it (another program may be using a pcscd it found running)
  if [ -n "$STARTED_PCSCD" ]; then kill "$STARTED_PCSCD" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

echo "PC/SC readers: $("$PYTHON" -c 'from smartcard.System import readers; print(", ".join(map(str, readers())))')"
echo "the sample card goes on \"Virtual PCD 00 0$SLOT\""
# in the background and waited for, so that a TERM/INT to this script stops the bridge and pcscd at once
"$PYTHON" -m cccd_reader.emulator.vpcd --sample "$SAMPLE" --port "$PORT" &
BRIDGE=$!
wait "$BRIDGE"
