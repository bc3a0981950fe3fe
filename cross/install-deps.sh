#!/usr/bin/env bash
# Installs the real peers the interop tests use, from Debian packages.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
# Real peers of the interop tests, and what 'make check' itself needs: a C
# toolchain for go test -race (cgo), systemd-analyze for the unit file test.
pkgs=(mosquitto mosquitto-clients qemu-user-static snmpd snmp snmpsim nut-client nut-snmp
  gcc libc6-dev systemd)
need=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "deps: all present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing ${need[*]}; run as root or install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
# The packaged daemons are started by tests with their own configs.
systemctl stop mosquitto snmpd 2>/dev/null || true
