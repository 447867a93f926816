#!/usr/bin/env bash
# Runs the Matrix tests that speak only the client-server API against a real homeserver (Synapse, Conduit):
# provisioning (idempotent, bots added and removed, recovery), the bot runner (mention routing, streamed edits,
# threads, loop guard, redaction, rate limit, pause, restart without loss or duplicates, pipelines), an encrypted team (the
# owner vouching for the bots and signing its own devices, streamed encrypted replies, restart keeps devices, a new device reads from key
# backup, a late bot reading history through MSC4268), images and documents in plain and encrypted rooms (what the
# test Ollama and OpenAI-compatible servers receive, and the bad attachments), and the chat window end to end in Chromium against
# `agent-room serve --homeserver-url`.
#
#   AGENT_ROOM_TEST_HOMESERVER_URL=http://127.0.0.1:18008 AGENT_ROOM_TEST_REGISTRATION_TOKEN=... npm run test:external
#
# Every run registers fresh accounts (a suffix per run), so it can be repeated on the same server.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${AGENT_ROOM_TEST_HOMESERVER_URL:?set it to the homeserver URL, e.g. http://127.0.0.1:18008 (bash scripts/real-synapse.sh start prints it)}"
: "${AGENT_ROOM_TEST_REGISTRATION_TOKEN:?set it to a registration token of that homeserver}"
export AGENT_ROOM_E2E_HOMESERVER_URL="$AGENT_ROOM_TEST_HOMESERVER_URL"
export AGENT_ROOM_E2E_REGISTRATION_TOKEN="$AGENT_ROOM_TEST_REGISTRATION_TOKEN"
echo "Matrix tests against $AGENT_ROOM_TEST_HOMESERVER_URL ($(curl -fsS "$AGENT_ROOM_TEST_HOMESERVER_URL/_matrix/client/versions" | head -c 120)…)"
npm run build
npx vitest run test/integration/homeserver-conformance.test.ts test/integration/provision-team.test.ts test/integration/existing-owner-account.test.ts test/integration/bots-runner.test.ts test/integration/bots-restart.test.ts test/integration/bots-burst.test.ts test/integration/bots-master.test.ts test/integration/bots-pipeline.test.ts test/integration/bots-tools.test.ts test/integration/bots-agent.test.ts \
  test/integration/crypto-owner-trust.test.ts test/integration/crypto-owner-devices.test.ts test/integration/crypto-bots.test.ts test/integration/crypto-late-join.test.ts \
  test/integration/attachments-room.test.ts test/integration/attachments-encrypted.test.ts test/integration/bad-input-attachments.test.ts
npx vitest run --config vitest.e2e.config.ts test/e2e/encrypted-room.test.ts test/e2e/attachments.test.ts
