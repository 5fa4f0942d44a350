#!/usr/bin/env bash
# Installs the benchmark peers from Debian 12 if missing. None of them is left
# running as a service: the benchmark starts each one itself with bench/configs.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(haproxy nginx-light libnginx-mod-stream sniproxy iperf3 openssl g++ libssl-dev
      clang libbpf-dev valgrind linux-perf)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
echo "installing: ${missing[*]}"
apt-get update -qq
# policy-rc.d exit 101: maintainer scripts may not start services.
had_policy=0; [[ -e /usr/sbin/policy-rc.d ]] && had_policy=1
if ((!had_policy)); then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
((had_policy)) || rm -f /usr/sbin/policy-rc.d
# If anything started anyway (no policy-rc.d honoured), stop it.
for svc in haproxy nginx sniproxy iperf3; do
  if command -v systemctl >/dev/null && systemctl is-active --quiet "$svc" 2>/dev/null; then
    systemctl stop "$svc" || true
  fi
  if [[ -x /etc/init.d/$svc ]]; then /etc/init.d/$svc stop >/dev/null 2>&1 || true; fi
done
