#!/usr/bin/env bash
# Runs the arm and arm64 builds in dist/ under qemu-user (Debian's
# qemu-user-static), as CI's stand-in for a gateway:
#   1. 'version' must name the build's architecture;
#   2. a short demo run (simulated rack, agent polling it, embedded broker,
#      console subscribed through the broker, all inside the arm binary)
#      must poll without failures and get telemetry to the console;
#   3. if agent/detect exists, its tests are cross-compiled and the
#      determinism tests run under qemu (same verdicts on every platform).
# Run 'make cross' (cross/build.sh) first. Everything listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

demo_speed=${DEMO_SPEED:-20}
demo_duration=${DEMO_DURATION:-3s}
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*" >&2; fail=1; }

for t in arm:arm:armv7 aarch64:arm64:arm64; do
  IFS=: read -r qarch goarch suffix <<<"$t"
  q=qemu-$qarch-static
  bin=dist/emberwatch-linux-$suffix
  command -v "$q" >/dev/null || { bad "$q missing (apt-get install qemu-user-static)"; continue; }
  [ -x "$bin" ] || { bad "$bin missing (run make cross)"; continue; }

  # 1. version
  out=$("$q" "$bin" version) || { bad "$bin version exited $?"; continue; }
  say "$q $bin version: $out"
  case $out in
    *"linux/$goarch"*) ;;
    *) bad "$bin version does not say linux/$goarch" ;;
  esac

  # 2. a short poll: the demo ends by itself and exits non-zero when no
  # telemetry reached its console through the broker.
  start=$(date +%s.%N)
  if ! "$q" "$bin" demo --speed "$demo_speed" --duration "$demo_duration" >"$tmp/demo-$suffix.out" 2>&1; then
    tail -20 "$tmp/demo-$suffix.out" >&2
    bad "$bin demo exited non-zero under $q"
    continue
  fi
  end=$(date +%s.%N)
  summary=$(grep '^demo: ' "$tmp/demo-$suffix.out" | tail -1)
  polls=$(sed -n 's/^demo: \([0-9]*\) polls (\([0-9]*\) failed).*/\1/p' <<<"$summary")
  failed=$(sed -n 's/^demo: \([0-9]*\) polls (\([0-9]*\) failed).*/\2/p' <<<"$summary")
  hottest=$(grep -o 'hottest module [0-9]* [0-9.]* °C' "$tmp/demo-$suffix.out" | tail -1 || true)
  say "$q $bin demo: ${summary#demo: } in $(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}') s; last: ${hottest:-no module readings}"
  if [ -z "$polls" ] || [ "$polls" -lt 1 ]; then bad "$bin demo read nothing"; fi
  if [ -n "$failed" ] && [ "$failed" -ne 0 ]; then bad "$bin demo had $failed failed polls"; fi
  [ -n "$hottest" ] || bad "$bin demo: no module temperature reached the console"

  # 3. the detector's determinism tests, when the detector exists.
  if compgen -G 'agent/detect/*_test.go' >/dev/null; then
    goarm=; [ "$goarch" = arm ] && goarm=7
    if CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
        go test -c -o "$tmp/detect-$suffix.test" ./agent/detect >"$tmp/detect-build.out" 2>&1; then
      if (cd agent/detect && "$q" "$tmp/detect-$suffix.test" -test.run Determinism -test.v >"$tmp/detect-$suffix.out" 2>&1); then
        say "$q agent/detect: $(grep -c '^--- PASS' "$tmp/detect-$suffix.out" || true) determinism tests passed"
      else
        tail -20 "$tmp/detect-$suffix.out" >&2
        bad "agent/detect determinism tests failed under $q"
      fi
    else
      cat "$tmp/detect-build.out" >&2
      bad "agent/detect tests do not build for linux/$goarch"
    fi
  fi
done

if [ "$fail" -ne 0 ]; then
  say "qemu check: FAILED"
  exit 1
fi
say "qemu check: ok"
