#!/usr/bin/env bash
# real-synapse.sh: run a real Matrix Synapse homeserver on loopback, so Agent
# Room can be checked against it by hand.
#
# Used by `npm run test:synapse` (part of `npm test`, see scripts/test-synapse.sh)
# and by hand: the Matrix tests that speak only the client-server API run
# against it, to check the product against the reference server.
#
# How it works: PyPI may not be reachable, but a Debian mirror is. `setup` uses
# debootstrap to build a Debian sid chroot (sid carries a recent matrix-synapse
# package) and installs matrix-synapse inside it, so the host's packages are
# left alone. It then writes a local config: sqlite, an http client listener on
# 127.0.0.1:$SYNAPSE_PORT, no federation, registration gated by a token,
# generous rate limits. The chroot shares the host's network namespace, so the
# server can be reached from the host.
#
# Usage (as root; debootstrap, chroot and mount need it):
#   bash scripts/real-synapse.sh setup    # debootstrap + install + config + keys (idempotent)
#   bash scripts/real-synapse.sh start    # start in background, ensure admin user + token
#   bash scripts/real-synapse.sh status
#   bash scripts/real-synapse.sh stop     # stop the server and unmount /proc, /dev
#
# Environment:
#   SYNAPSE_ROOT         chroot directory       (default /var/tmp/agent-room-synapse)
#   SYNAPSE_PORT         client listener port   (default 18008)
#   SYNAPSE_TOKEN        registration token     (default agent-room-test)
#   SYNAPSE_SERVER_NAME  server_name            (default synapse.test; cannot change once the DB exists)
#   SYNAPSE_MIRROR       Debian mirror          (default http://deb.debian.org/debian)
#   SYNAPSE_SUITE        Debian suite           (default sid)
#   SYNAPSE_STOCK_LIMITS 1: keep Synapse's default rate limits (default: generous limits for test runs)
#
# Files inside the chroot:
#   /etc/agent-room-synapse/homeserver.yaml  config, rewritten on setup/start
#   /etc/agent-room-synapse/secrets.yaml     shared secret, macaroon/form secrets (made once)
#   /etc/agent-room-synapse/admin.json       admin user, password, access token
#   /var/lib/agent-room-synapse/             sqlite DB, media store, signing key
#   /var/log/agent-room-synapse/             homeserver.log, stdout.log
#
# WARNING: while the server runs, the host's /dev is bind-mounted at
# $SYNAPSE_ROOT/dev. Run `stop` before you delete $SYNAPSE_ROOT. Never use rm -rf on it
# while it runs.
set -euo pipefail

SYNAPSE_ROOT="${SYNAPSE_ROOT:-/var/tmp/agent-room-synapse}"
SYNAPSE_PORT="${SYNAPSE_PORT:-18008}"
SYNAPSE_TOKEN="${SYNAPSE_TOKEN:-agent-room-test}"
SYNAPSE_SERVER_NAME="${SYNAPSE_SERVER_NAME:-synapse.test}"
SYNAPSE_MIRROR="${SYNAPSE_MIRROR:-http://deb.debian.org/debian}"
SYNAPSE_SUITE="${SYNAPSE_SUITE:-sid}"

R="$SYNAPSE_ROOT"
CONF_DIR=/etc/agent-room-synapse          # paths as seen inside the chroot
DATA_DIR=/var/lib/agent-room-synapse
LOG_DIR=/var/log/agent-room-synapse
PID_FILE="$R/run/agent-room-synapse.pid"  # host path
URL="http://127.0.0.1:${SYNAPSE_PORT}"

log() { printf '[real-synapse] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap/chroot/mount)"; }

mount_fs() {
  mkdir -p "$R/proc" "$R/dev"
  mountpoint -q "$R/proc" || mount -t proc proc "$R/proc"
  mountpoint -q "$R/dev" || mount --bind /dev "$R/dev"
}

umount_fs() {
  local m
  for m in "$R/dev" "$R/proc"; do
    if mountpoint -q "$m"; then umount "$m" || umount -l "$m"; fi
  done
}

running_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # The PID must still belong to our synapse, and not be a reused PID.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'synapse.app.homeserver' || return 1
  echo "$pid"
}

write_config() {
  mkdir -p "$R$CONF_DIR" "$R$DATA_DIR/media_store" "$R$LOG_DIR" "$R/run"
  chmod 700 "$R$CONF_DIR"

  if [ ! -s "$R$CONF_DIR/secrets.yaml" ]; then
    log "generating secrets"
    in_root python3 - >"$R$CONF_DIR/secrets.yaml" <<'PY'
import secrets
for k in ("registration_shared_secret", "macaroon_secret_key", "form_secret"):
    print(f'{k}: "{secrets.token_urlsafe(32)}"')
PY
    chmod 600 "$R$CONF_DIR/secrets.yaml"
  fi

  cat >"$R$CONF_DIR/log.yaml" <<EOF
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(request)s - %(message)s'
handlers:
  file:
    class: logging.handlers.RotatingFileHandler
    formatter: precise
    filename: $LOG_DIR/homeserver.log
    maxBytes: 50000000
    backupCount: 2
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: WARNING
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
EOF

  # Generous per-second and burst limits, so that test runs are not throttled.
  local RL='{per_second: 1000, burst_count: 10000}'
  cat >"$R$CONF_DIR/homeserver.yaml" <<EOF
# Generated by scripts/real-synapse.sh. Rewritten on every setup/start.
server_name: "$SYNAPSE_SERVER_NAME"
public_baseurl: "$URL/"
report_stats: false
serve_server_wellknown: false
listeners:
  - port: $SYNAPSE_PORT
    type: http
    tls: false
    bind_addresses: ["127.0.0.1"]
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: $DATA_DIR/homeserver.db
log_config: $CONF_DIR/log.yaml
media_store_path: $DATA_DIR/media_store
max_upload_size: 100M
url_preview_enabled: false
signing_key_path: $DATA_DIR/signing.key
# Federation off as far as it goes: no federation listener, no peers, no key servers.
federation_domain_whitelist: []
trusted_key_servers: []
suppress_key_server_warning: true
allow_public_rooms_over_federation: false
enable_registration: true
registration_requires_token: true
allow_guest_access: false
enable_metrics: false
user_directory:
  search_all_users: true
EOF
  # SYNAPSE_STOCK_LIMITS=1 keeps Synapse's own rate limits (as a default install has them).
  if [ "${SYNAPSE_STOCK_LIMITS:-}" != 1 ]; then
    cat >>"$R$CONF_DIR/homeserver.yaml" <<EOF
rc_message: $RL
rc_registration: $RL
rc_registration_token_validity: $RL
rc_login:
  address: $RL
  account: $RL
  failed_attempts: $RL
rc_joins:
  local: $RL
  remote: $RL
rc_joins_per_room: $RL
rc_invites:
  per_room: $RL
  per_user: $RL
  per_issuer: $RL
rc_key_requests: $RL
rc_3pid_validation: $RL
rc_third_party_invite: $RL
rc_media_create: $RL
rc_presence:
  per_user: $RL
rc_delayed_event_mgmt: $RL
rc_room_creation: $RL
rc_reports: $RL
rc_user_directory: $RL
rc_admin_redaction: $RL
EOF
  fi
}

cmd_setup() {
  need_root
  local marker="$R/.agent-room-debootstrap-done"
  # A root from an older run of this script, complete but unmarked: keep it.
  if [ ! -f "$marker" ] && [ -x "$R/usr/bin/apt-get" ] && [ -z "$(chroot "$R" dpkg --audit 2>&1)" ]; then touch "$marker"; fi
  if [ ! -f "$marker" ]; then
    if [ -e "$R" ]; then
      running_pid >/dev/null && die "a Synapse runs from $R; stop it first"
      mountpoint -q "$R" && die "$R is a mount point; choose another SYNAPSE_ROOT"
      # Only what a failed debootstrap left (its own work folder), or an empty folder, is removed.
      if [ -d "$R/debootstrap" ] || [ -z "$(ls -A "$R")" ]; then
        umount_fs
        log "removing the incomplete chroot at $R"
        rm -rf --one-file-system "$R"
      else
        die "$R exists but is not a chroot this script finished; remove it yourself or choose another SYNAPSE_ROOT"
      fi
    fi
    command -v debootstrap >/dev/null || {
      log "installing debootstrap on the host"
      DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap ||
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap; }
    }
    log "debootstrap $SYNAPSE_SUITE into $R (a minute or so)"
    mkdir -p "$R"
    nice -n 10 debootstrap --variant=minbase "$SYNAPSE_SUITE" "$R" "$SYNAPSE_MIRROR"
    touch "$marker"
  else
    log "chroot exists at $R, skipping debootstrap"
  fi

  cp -L /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
  # Mirror snapshots can carry a Release file past its Valid-Until date.
  echo 'Acquire::Check-Valid-Until "false";' >"$R/etc/apt/apt.conf.d/99no-valid-until"
  # Stop maintainer scripts from trying to start services inside the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
  chmod +x "$R/usr/sbin/policy-rc.d"

  mount_fs
  # Whatever fails below (mirror, package), the host's /dev is not left bind-mounted in the chroot.
  trap 'running_pid >/dev/null || umount_fs' EXIT
  if ! in_root dpkg-query -W -f='${Status}' matrix-synapse 2>/dev/null | grep -q 'install ok installed'; then
    log "installing matrix-synapse in the chroot"
    printf '%s\n' \
      'matrix-synapse matrix-synapse/server-name string localhost' \
      'matrix-synapse matrix-synapse/report-stats boolean false' | in_root debconf-set-selections
    in_root env DEBIAN_FRONTEND=noninteractive nice -n 10 apt-get update
    in_root env DEBIAN_FRONTEND=noninteractive nice -n 10 \
      apt-get install -y --no-install-recommends matrix-synapse
  else
    log "matrix-synapse already installed: $(in_root dpkg-query -W -f='${Version}' matrix-synapse)"
  fi

  write_config
  if [ ! -s "$R$DATA_DIR/signing.key" ]; then
    log "generating signing key"
    in_root python3 -m synapse.app.homeserver --generate-keys \
      -c "$CONF_DIR/homeserver.yaml" -c "$CONF_DIR/secrets.yaml"
  fi
  # Leave nothing mounted, unless a server is running and needs the mounts.
  running_pid >/dev/null || umount_fs
  log "setup done (root: $R)"
}


cmd_start() {
  need_root
  [ -x "$R/usr/bin/python3" ] && [ -s "$R$DATA_DIR/signing.key" ] ||
    die "no setup found at $R; run: SYNAPSE_ROOT=$R bash $0 setup"
  local pid
  if pid="$(running_pid)"; then
    log "already running (pid $pid)"
  else
    write_config
    mount_fs
    : >>"$R$LOG_DIR/stdout.log"
    setsid nohup chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
      python3 -m synapse.app.homeserver -c "$CONF_DIR/homeserver.yaml" -c "$CONF_DIR/secrets.yaml" \
      >>"$R$LOG_DIR/stdout.log" 2>&1 </dev/null 9>&- &
    echo $! >"$PID_FILE"
    log "started (pid $!), waiting for $URL/_matrix/client/versions"
  fi
  if ! in_root python3 - "$URL" "$SYNAPSE_TOKEN" "$CONF_DIR" <"$(dirname "$0")/real-synapse-bootstrap.py"; then
    log "see $R$LOG_DIR/stdout.log and $R$LOG_DIR/homeserver.log"
    tail -n 20 "$R$LOG_DIR/stdout.log" >&2 || true
    exit 1
  fi
  echo "SYNAPSE_URL=$URL"
  echo "SYNAPSE_SERVER_NAME=$SYNAPSE_SERVER_NAME"
  echo "SYNAPSE_TOKEN=$SYNAPSE_TOKEN"
  echo "SYNAPSE_ADMIN_FILE=$R$CONF_DIR/admin.json"
}

cmd_stop() {
  need_root
  local pid i
  if pid="$(running_pid)"; then
    log "stopping pid $pid"
    kill -TERM "$pid"
    for i in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "still alive after 30s, sending SIGKILL"
      kill -KILL "$pid" || true
    fi
  else
    log "not running"
  fi
  rm -f "$PID_FILE"
  umount_fs
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running: pid $pid, root $R"
  else
    echo "stopped (root $R)"
  fi
  if curl -fsS --max-time 3 "$URL/_matrix/client/versions" >/dev/null 2>&1; then
    echo "$URL/_matrix/client/versions: answering"
  else
    echo "$URL/_matrix/client/versions: not answering"
  fi
  [ -n "${pid:-}" ]
}

case "${1:-}" in
  setup) cmd_setup ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: [SYNAPSE_ROOT=dir] [SYNAPSE_PORT=18008] [SYNAPSE_TOKEN=agent-room-test] $0 {setup|start|stop|status}" >&2; exit 2 ;;
esac
