#!/usr/bin/env bash
# Builds static, stripped, version-stamped binaries for the gateway targets.
set -euo pipefail
ldflags=${1:?ldflags}
mkdir -p dist
for t in linux/arm/7 linux/arm64/ linux/amd64/; do
  IFS=/ read -r os arch arm <<<"$t"
  out=dist/emberwatch-$os-$arch${arm:+v$arm}
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=$arm go build -trimpath -ldflags "$ldflags" -o "$out" ./agent/cmd/emberwatch
  printf '%-36s %10d bytes\n' "$out" "$(stat -c %s "$out")"
done
