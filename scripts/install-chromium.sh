#!/bin/sh
# Installs Debian's chromium for the live-page browser test (test/metrics/live-page.test.ts).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (or sudo).
set -eu

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  echo "install-chromium: $CHROMIUM is already installed: $("$CHROMIUM" --version 2>/dev/null || echo 'version unknown')"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: apt-get not found; install Chromium yourself so that $CHROMIUM exists" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-chromium: run me as root (apt-get needs it), or install sudo" >&2
    exit 1
  fi
fi

echo "install-chromium: $CHROMIUM is missing; running: ${SUDO:+$SUDO }apt-get update"
$SUDO apt-get update
echo "install-chromium: running: ${SUDO:+$SUDO }apt-get install -y chromium"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium

if [ ! -x "$CHROMIUM" ]; then
  echo "install-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
echo "install-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM")"
