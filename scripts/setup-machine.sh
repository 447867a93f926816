#!/usr/bin/env bash
# Installs the Debian packages the tests need (Chromium for the browser tests). Safe to run again.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
else
  echo "Please install Chromium (the browser tests use it through playwright-core)." >&2
  exit 1
fi
