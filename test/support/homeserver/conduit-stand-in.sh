#!/bin/sh
# Runs the protocol-faithful test homeserver as if it were the Conduit binary (it reads CONDUIT_CONFIG).
# Point AGENT_ROOM_CONDUIT at this file to run `agent-room serve` on a machine without Conduit.
# "$0" is passed on so the process's command line still names this file after exec: the supervisor's
# pid file records this path, and a later start recognises a stale stand-in by it.
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../../node_modules/.bin/node" "$here/conduit-stand-in.ts" "$0" "$@"
