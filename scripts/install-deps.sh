#!/usr/bin/env bash
# Installs what snigate needs from Debian 12 packages. Nothing else is downloaded.
#   scripts/install-deps.sh          build dependencies only
#   scripts/install-deps.sh --test   plus the real servers and clients the tests drive
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

build=(cmake g++ make pkg-config libasio-dev libssl-dev libyaml-cpp-dev libyaml-dev libspdlog-dev libfmt-dev
       libcli11-dev libre2-dev nlohmann-json3-dev prometheus-cpp-dev libsystemd-dev libcurl4-openssl-dev openssl ca-certificates
       dpkg-dev)
test=(libgtest-dev libgmock-dev clang libclang-rt-14-dev python3 python3-pytest python3-pymysql python3-cryptography
      nginx-light libnginx-mod-stream redis-server redis-tools mariadb-server mariadb-client curl
      postgresql python3-psycopg2 python3-openssl iperf3 iproute2 haproxy prometheus chromium
      chromium-driver python3-selenium systemd man-db python3-yaml adduser etcd-server etcd-client
      dovecot-imapd dovecot-pop3d python3-aiosmtpd swaks libnet-ssleay-perl libmail-java
      openjdk-17-jdk-headless pebble)

want=("${build[@]}")
[[ "${1:-}" == "--test" ]] && want+=("${test[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  # Servers are started by the tests themselves, never at boot.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

if [[ "${1:-}" == "--test" ]]; then
  # Node's drivers for the e2e tests (mysql2, pg, nodemailer, imapflow), pinned by package-lock.json.
  command -v npm >/dev/null || { apt-get update -qq; apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }
  (cd "$(dirname "$0")/../tests/e2e/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
