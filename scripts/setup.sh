#!/usr/bin/env bash
# Installs the system packages the tests need (npm test runs this first). Uses apt when it can;
# otherwise stops with the exact package names to install. Idempotent and quick when all is present.
set -euo pipefail

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v psql >/dev/null 2>&1 || need+=(postgresql)
# The browser tests (test/e2e-enrolment-browser.test.ts) drive Debian's Chromium with playwright-core;
# playwright's own browser download does not work here. fonts-liberation is only a Recommends of
# chromium-common (skipped by --no-install-recommends) and gives the screenshots real Arial/Times
# metrics; certutil (libnss3-tools) puts central's dev CA into the test browser's own NSS database.
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || need+=(fonts-liberation)
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)

if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "setup: installing ${need[*]} with sudo apt-get" >&2
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: missing system packages; install them and run again: ${need[*]}" >&2
    echo "       (Debian/Ubuntu: sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
fi

# The PostgreSQL tests use the server on 127.0.0.1:5432; start the local cluster if it is stopped.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    version=$(ls /etc/postgresql 2>/dev/null | head -n 1)
    [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || echo "setup: PostgreSQL is not running on 127.0.0.1:5432; its tests will be skipped (and fail under CI=true)" >&2
fi
exit 0
