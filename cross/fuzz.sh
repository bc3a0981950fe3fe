#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time each and fails if
# any finds a crasher. Targets are found with go test -list '^Fuzz' ./...;
# a crasher is written by Go to <package>/testdata/fuzz/<Target>/<hash>,
# where it stays as a regression case once the bug is fixed (commit it with
# the fix). Prints one summary line per target (execs as of Go's last
# progress report), then the totals.
# Usage: bash cross/fuzz.sh [PACKAGES...]   (default ./...)
# Env:   FUZZTIME=10s      time per target (go test -fuzztime)
#        FUZZPARALLEL=N    fuzzing workers per target (default: GOMAXPROCS)
#        FUZZMATCH=REGEXP  only targets whose "package.Target" matches
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
[[ $fuzztime =~ ^[0-9]+$ ]] && fuzztime=${fuzztime}s
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)
par=()
[ -n "${FUZZPARALLEL:-}" ] && par=(-parallel "$FUZZPARALLEL")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Candidate packages: those with a test file declaring a fuzz target (so
# that only they are compiled); go test -list then names the targets the
# build actually has (build tags, generated files).
mapfile -t cands < <(go list -f '{{.Dir}} {{.ImportPath}}' "${pkgs[@]}" 2>/dev/null |
  while read -r dir ip; do
    grep -lqs '^func Fuzz' "$dir"/*_test.go && echo "$ip"
  done)
targets=()
broken=()
for pkg in "${cands[@]}"; do
  if ! go test -list '^Fuzz' "$pkg" >"$work/list" 2>&1; then
    broken+=("$pkg")
    { echo "---- $pkg does not build:"; grep -v '^Fuzz' "$work/list" | tail -20; } >&2
    continue
  fi
  while read -r name; do targets+=("$pkg $name"); done < <(grep '^Fuzz' "$work/list")
done
if [ -n "${FUZZMATCH:-}" ]; then
  kept=()
  for t in "${targets[@]}"; do
    [[ "${t% *}.${t#* }" =~ $FUZZMATCH ]] && kept+=("$t")
  done
  targets=("${kept[@]}")
fi
if [ ${#targets[@]} -eq 0 ] && [ ${#broken[@]} -eq 0 ]; then
  echo "fuzz: no targets"
  exit 0
fi
echo "fuzz: ${#targets[@]} targets, $fuzztime each"

module=$(go list -m)
failed=0
for pkg in "${broken[@]}"; do
  failed=$((failed + 1))
  printf 'FAIL  %-28s %-20s (package does not build)\n' "${pkg#"$module"/}" '*'
done
for t in "${targets[@]}"; do
  pkg=${t% *} name=${t#* }
  dir=$(go list -f '{{.Dir}}' "$pkg")
  corpus=$dir/testdata/fuzz/$name
  before=$(ls "$corpus" 2>/dev/null | sort)
  start=$(date +%s)
  go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "${par[@]}" "$pkg" >"$work/out" 2>&1
  rc=$?
  # Go's fuzzing engine now and then ends a run that found nothing with
  # "context deadline exceeded" as -fuzztime runs out (no failing input,
  # no crasher written): run such a target once more before calling it.
  if [ $rc -ne 0 ] && grep -q 'context deadline exceeded' "$work/out" &&
    ! grep -q 'Failing input' "$work/out" &&
    [ "$(ls "$corpus" 2>/dev/null | sort)" = "$before" ]; then
    echo "note: $name in ${pkg#"$module"/} ended with the engine's deadline error; running it again" >&2
    go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "${par[@]}" "$pkg" >"$work/out" 2>&1
    rc=$?
  fi
  secs=$(( $(date +%s) - start ))
  execs=$(grep -o 'execs: [0-9]*' "$work/out" | tail -1 | awk '{print $2}')
  after=$(ls "$corpus" 2>/dev/null | sort)
  new=$(comm -13 <(echo "$before") <(echo "$after") | grep -v '^$')
  short=${pkg#"$module"/}
  if [ $rc -eq 0 ]; then
    line=$(printf 'ok    %-28s %-20s %4ds  %10s execs' "$short" "$name" "$secs" "${execs:-?}")
    # A target that hardly runs is stuck on an input or too slow to find
    # anything: worth a look, though Go does not call it a failure.
    [ -n "$execs" ] && [ "$execs" -lt 1000 ] && line+="  (slow: under 1000 execs)"
  else
    failed=$((failed + 1))
    line=$(printf 'FAIL  %-28s %-20s %4ds  %10s execs' "$short" "$name" "$secs" "${execs:-?}")
    {
      echo "---- $short $name"
      grep -v '^fuzz: elapsed' "$work/out" | tail -40
      for f in $new; do
        echo "crasher: ${corpus#"$PWD"/}/$f  (replay: go test -run '^$name/$f\$' $pkg)"
      done
      owner=$(git log -1 --format='%an' -- "$dir" 2>/dev/null)
      [ -n "$owner" ] && echo "last changed by: $owner"
    } >&2
  fi
  echo "$line"
done

echo "fuzz: ${#targets[@]} targets, $((${#targets[@]} + ${#broken[@]} - failed)) ok, $failed failed${broken:+ (${#broken[@]} packages did not build)}"
[ $failed -eq 0 ]
