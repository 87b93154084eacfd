#!/usr/bin/env bash
# Installs the system packages the tests need (npm test runs this first). Uses apt when it can;
# otherwise stops with the exact package names to install. Idempotent and quick when all is present.
set -euo pipefail

# Optional, for `npm run bench -- crowdsec-peer` only (never needed by `npm test`): CrowdSec 1.4.6 from
# Debian, offline. The package's postinst registers with the online API unless
# online_api_credentials.yaml already holds something, so a placeholder goes in first; the shipped
# iptables parser and port-scan scenario come from the package's own hub copy, linked into place
# (`cscli parsers install` would fetch the hub index from the internet). Run with
# CYBERALARM_SETUP_CROWDSEC=1, or `bash scripts/setup.sh crowdsec` (what the bench does).
ensure_crowdsec() {
  local hub=/var/lib/crowdsec/hub
  if ! command -v crowdsec >/dev/null 2>&1 || ! command -v cscli >/dev/null 2>&1; then
    local sudo=()
    if [ "$(id -u)" != 0 ]; then
      if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
        echo "setup: crowdsec is missing; as root: mkdir -p /etc/crowdsec && echo 'url: offline' > /etc/crowdsec/online_api_credentials.yaml && apt-get install -y crowdsec" >&2
        return 1
      fi
    fi
    echo "setup: installing crowdsec (offline: no online API registration)" >&2
    "${sudo[@]}" mkdir -p /etc/crowdsec
    [ -s /etc/crowdsec/online_api_credentials.yaml ] ||
      echo 'url: offline # placeholder: keeps the postinst from registering online' |
      "${sudo[@]}" tee /etc/crowdsec/online_api_credentials.yaml >/dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends crowdsec >/dev/null ||
      { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends crowdsec >/dev/null; }
    # The package starts its service where there is an init system; the bench runs its own instances.
    "${sudo[@]}" systemctl stop crowdsec >/dev/null 2>&1 || true
  fi
  local link
  for link in parsers/s01-parse/iptables-logs.yaml scenarios/iptables-scan-multi_ports.yaml; do
    if [ ! -e "/etc/crowdsec/$link" ] && [ -e "$hub/${link%/*}/crowdsecurity/${link##*/}" ]; then
      ln -s "$hub/${link%/*}/crowdsecurity/${link##*/}" "/etc/crowdsec/$link" 2>/dev/null ||
        sudo -n ln -s "$hub/${link%/*}/crowdsecurity/${link##*/}" "/etc/crowdsec/$link"
    fi
  done
}
if [ "${1:-}" = crowdsec ]; then
  ensure_crowdsec
  exit $?
fi

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

if [ "${CYBERALARM_SETUP_CROWDSEC:-}" = 1 ]; then ensure_crowdsec || exit 1; fi

# The PostgreSQL tests use the server on 127.0.0.1:5432; start the local cluster if it is stopped.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    version=$(ls /etc/postgresql 2>/dev/null | head -n 1)
    [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || echo "setup: PostgreSQL is not running on 127.0.0.1:5432; its tests will be skipped (and fail under CI=true)" >&2
fi
exit 0
