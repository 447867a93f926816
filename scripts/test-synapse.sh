#!/usr/bin/env bash
# The product against the reference homeserver: builds (once) a Debian sid chroot with Debian's matrix-synapse
# (scripts/real-synapse.sh), starts it on loopback, runs `npm run test:external` against it, and stops it.
#
# Part of `npm test`. If the Synapse chroot cannot be built (Debian mirror unreachable, the sid package broken
# for a day, not root), it says so loudly and reports the check as NOT RUN instead of failing the whole suite;
# when Synapse runs, every test must pass. AGENT_ROOM_REQUIRE_SYNAPSE=1 makes a setup failure fail too.
# One run at a time per chroot (a lock); a Synapse that was already running there is used and left running.
set -euo pipefail
cd "$(dirname "$0")/.."
export SYNAPSE_ROOT="${SYNAPSE_ROOT:-/var/tmp/agent-room-synapse}"
export SYNAPSE_PORT="${SYNAPSE_PORT:-18008}"
export SYNAPSE_TOKEN="${SYNAPSE_TOKEN:-agent-room-test}"

not_run() {
  echo "=================================================================="
  echo "NOT RUN: the Matrix tests against a real Synapse. $1"
  echo "=================================================================="
  if [ "${AGENT_ROOM_REQUIRE_SYNAPSE:-}" = 1 ]; then exit 1; fi
  exit 0
}

[ "$(id -u)" -eq 0 ] || not_run "Building the Synapse chroot needs root (debootstrap, chroot, mount)."
mkdir -p "$(dirname "$SYNAPSE_ROOT")"
exec 9>"$SYNAPSE_ROOT.lock"
flock -w 600 9 || not_run "Another run holds $SYNAPSE_ROOT.lock."

started_here=0
# Whatever happens from here, a Synapse this run started is stopped and nothing stays mounted.
cleanup() {
  if [ "$started_here" = 1 ] || ! bash scripts/real-synapse.sh status >/dev/null 2>&1; then
    bash scripts/real-synapse.sh stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

begun=$(date +%s)
if ! bash scripts/real-synapse.sh setup > /tmp/agent-room-synapse-setup.log 2>&1; then
  tail -n 20 /tmp/agent-room-synapse-setup.log
  not_run "Setting up Synapse failed (log above, whole log in /tmp/agent-room-synapse-setup.log)."
fi
bash scripts/real-synapse.sh status >/dev/null 2>&1 || started_here=1
bash scripts/real-synapse.sh start > /tmp/agent-room-synapse-start.log 2>&1 || { cat /tmp/agent-room-synapse-start.log; not_run "Synapse did not start."; }
echo "Synapse $(chroot "$SYNAPSE_ROOT" dpkg-query -W -f '${Version}' matrix-synapse 2>/dev/null) ready in $(( $(date +%s) - begun )) s"
AGENT_ROOM_TEST_HOMESERVER_URL="http://127.0.0.1:$SYNAPSE_PORT" AGENT_ROOM_TEST_REGISTRATION_TOKEN="$SYNAPSE_TOKEN" bash scripts/test-external.sh
