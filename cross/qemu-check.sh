#!/usr/bin/env bash
# Runs the arm and arm64 builds in dist/ under qemu-user (Debian's
# qemu-user-static), as CI's stand-in for a gateway:
#   1. 'version' must name the build's architecture;
#   2. a short demo run (simulated rack served over Modbus TCP, the agent
#      polling it, embedded broker, console subscribed through the broker,
#      all inside the arm binary) must poll without failures and get module
#      readings to the console;
#   3. 'probe' under qemu reads the simulated BMS of a demo running natively
#      on the host (a host build of the same tree) over Modbus TCP and must
#      print the rack's points;
#   4. if agent/detect has tests, they are cross-compiled and the
#      determinism tests run under qemu (same verdicts on every platform).
# Run 'make cross' (cross/build.sh) first. Everything listens on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

demo_speed=${DEMO_SPEED:-20}
demo_duration=${DEMO_DURATION:-3s}
fail=0
tmp=$(mktemp -d)
sim_pid=
cleanup() {
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

say() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*" >&2; fail=1; }

# The simulator for the probe check: the demo, built for the host, with its
# log on; it names the simulated BMS's Modbus TCP address on 127.0.0.1.
probe_url=
if go build -o "$tmp/emberwatch-host" ./agent/cmd/emberwatch; then
  "$tmp/emberwatch-host" demo --forever --speed 5 -v >/dev/null 2>"$tmp/sim.log" &
  sim_pid=$!
  for _ in $(seq 100); do
    probe_url=$(sed -n 's/.*probe="\([^"]*\)".*/\1/p' "$tmp/sim.log" | head -1)
    [ -n "$probe_url" ] && break
    sleep 0.1
  done
  [ -n "$probe_url" ] || { tail -20 "$tmp/sim.log" >&2; bad "the host simulator did not start"; }
else
  bad "host build failed"
fi

# The detector's determinism tests on the host first, to tell a changed
# detector (fails here too) from a platform difference (fails only under qemu).
host_det=none
if compgen -G 'agent/detect/*_test.go' >/dev/null; then
  if go test -count=1 -run Determinism ./agent/detect >"$tmp/detect-host.out" 2>&1; then
    host_det=ok
  else
    host_det=fail
    say "host: agent/detect determinism tests fail on $(go env GOARCH) as well: the detector's output changed, not the platform"
  fi
fi

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

  # 3. probe the host's simulated BMS from the arm binary.
  if [ -n "$probe_url" ]; then
    if "$q" "$bin" probe "$probe_url" >"$tmp/probe-$suffix.out" 2>&1; then
      n=$(grep -c ' ' "$tmp/probe-$suffix.out" || true)
      say "$q $bin probe $probe_url: $n points; $(grep '^battery.module.1.temperature ' "$tmp/probe-$suffix.out" || echo 'no battery.module.1.temperature')"
      [ "$n" -ge 100 ] || bad "$bin probe read only $n points"
      grep -q '^battery.module.1.temperature [0-9]' "$tmp/probe-$suffix.out" || bad "$bin probe: no module temperature"
    else
      tail -20 "$tmp/probe-$suffix.out" >&2
      bad "$bin probe failed under $q"
    fi
  fi

  # 4. the detector's determinism tests, when the detector has them.
  if [ "$host_det" != none ]; then
    goarm=; [ "$goarch" = arm ] && goarm=7
    if CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm \
        go test -c -o "$tmp/detect-$suffix.test" ./agent/detect >"$tmp/detect-build.out" 2>&1; then
      if (cd agent/detect && "$q" "$tmp/detect-$suffix.test" -test.run Determinism -test.v >"$tmp/detect-$suffix.out" 2>&1); then
        say "$q agent/detect: $(grep -c '^--- PASS' "$tmp/detect-$suffix.out" || true) determinism tests passed"
      else
        tail -20 "$tmp/detect-$suffix.out" >&2
        if [ "$host_det" = ok ]; then
          bad "agent/detect determinism tests pass on the host but fail under $q: a platform difference"
        else
          bad "agent/detect determinism tests fail under $q, as on the host"
        fi
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
