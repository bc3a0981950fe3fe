#!/usr/bin/env bash
# Builds static, stripped, version-stamped binaries for the gateway targets
# (linux arm v7, arm64, amd64) into dist/, and prints each binary's size.
# Usage: cross/build.sh LDFLAGS   (the Makefile passes its -s -w -X ... flags)
set -euo pipefail
cd "$(dirname "$0")/.."
ldflags=${1:?usage: cross/build.sh LDFLAGS}
mkdir -p dist
printf '%-32s %12s %9s\n' binary bytes MiB
for t in linux/arm/7 linux/arm64/ linux/amd64/; do
  IFS=/ read -r os arch arm <<<"$t"
  out=dist/emberwatch-$os-$arch${arm:+v$arm}
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch GOARM=$arm \
    go build -trimpath -ldflags "$ldflags" -o "$out" ./agent/cmd/emberwatch
  size=$(stat -c %s "$out")
  printf '%-32s %12d %9.2f\n' "$out" "$size" "$(awk -v s="$size" 'BEGIN{print s/1048576}')"
done
