#!/usr/bin/env bash
# Runs `agent-room serve` on a machine that has no Conduit binary and no downloaded model (like our
# build machines): the protocol-faithful test homeserver stands in for Conduit, and a small generated
# GGUF in <data>/models becomes the first-run bot. Data lives in .tmp/local-data unless --data-dir is given.
set -euo pipefail
cd "$(dirname "$0")/.."
data=.tmp/local-data
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data-dir) data="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
mkdir -p "$data/models"
if ! ls "$data/models"/*.gguf >/dev/null 2>&1; then
  npx tsx scripts/make-gguf.ts --preset tiny --out "$data/models/tiny-chat.gguf" >/dev/null
fi
if [ ! -x "resources/bin/$(node_modules/.bin/node -p 'process.platform + "-" + process.arch')/conduit" ] && [ -z "${AGENT_ROOM_CONDUIT:-}" ]; then
  export AGENT_ROOM_CONDUIT="$PWD/test/support/homeserver/conduit-stand-in.sh"
  echo "No Conduit binary in resources/bin: using the test homeserver stand-in (npm run fetch-conduit gets the real one)."
fi
exec node_modules/.bin/node bin/agent-room.js --data-dir "$data" serve "${args[@]}"
