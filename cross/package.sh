#!/usr/bin/env bash
# Builds the gateway packages into dist/: a .deb for arm64, armhf and amd64
# (binary, systemd unit, example site file as the conffile
# /etc/emberwatch/site.yaml, a system user made by postinst) and a plain
# tarball per architecture; then checks them:
#   - dpkg-deb --info/--contents list the unit and the conffile;
#   - the amd64 package installs into a scratch root (dpkg --root, maintainer
#     scripts run chrootless against DPKG_ROOT), files, owners and modes are
#     checked, the unit passes systemd-analyze verify, the binary runs;
#   - an upgrade (v1, the site file edited, then v2 whose example changed)
#     keeps the edited site file;
#   - purge removes the files, the state directory and the unit's links.
# Usage: bash cross/package.sh            (builds dist/ binaries if missing)
# Env:   VERSION=1.2.3   Debian version (default: from git describe)
#        LDFLAGS=...     flags for a missing cross build (default: the Makefile's)
#        PACKAGE_CHECK=0 build only, no checks
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

die() { echo "package: $*" >&2; exit 1; }
for tool in dpkg-deb tar gzip; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian package: dpkg / tar / gzip)"
done

# Debian versions start with a digit: v1.2.3-4-gabc -> 1.2.3+git4.abc,
# no tag -> 0.0.0~gitYYYYMMDD.abc (sorts before any release).
debian_version() {
  local d
  if d=$(git describe --tags --match 'v[0-9]*' 2>/dev/null); then
    d=${d#v}
    if [[ $d =~ ^(.*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
      echo "${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}"
    else
      echo "$d"
    fi
  else
    echo "0.0.0~git$(git log -1 --format=%cd --date=format:%Y%m%d 2>/dev/null || date +%Y%m%d).$(git rev-parse --short HEAD 2>/dev/null || echo 0)"
  fi
}
version=${VERSION:-$(debian_version)}
version=${version#v}
[[ $version =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "VERSION $version is not a Debian version"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

# deb architecture -> cross build output (cross/build.sh names).
declare -A bin_of=([amd64]=dist/emberwatch-linux-amd64 [arm64]=dist/emberwatch-linux-arm64 [armhf]=dist/emberwatch-linux-armv7)
arches=(amd64 arm64 armhf)

missing=0
for a in "${arches[@]}"; do [ -x "${bin_of[$a]}" ] || missing=1; done
if [ "$missing" = 1 ]; then
  ldflags=${LDFLAGS:-"-s -w -X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev) -X main.commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"}
  echo "package: dist/ binaries missing; cross building"
  cross/build.sh "$ldflags"
fi

unit=firmware-config/systemd/emberwatch.service
example=firmware-config/site.example.yaml
[ -f "$unit" ] && [ -f "$example" ] || die "$unit or $example missing"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# write_scripts DIR: the maintainer scripts. They honour DPKG_ROOT (dpkg
# --root with --force-script-chrootless runs them outside the root), so
# every path is prefixed and nothing is asked of a running systemd there.
write_scripts() {
  local d=$1
  cat >"$d/postinst" <<'EOF'
#!/bin/sh
set -e
root=${DPKG_ROOT:-}
user=emberwatch

id_in_root() { # id_in_root passwd|group NAME -> numeric id from the root's files
  awk -F: -v n="$2" '$1 == n { print $3 }' "$root/etc/$1"
}

if [ "$1" = configure ]; then
  if [ -z "$(id_in_root group "$user")" ] || [ -z "$(id_in_root passwd "$user")" ]; then
    if [ -z "$root" ] && command -v adduser >/dev/null 2>&1; then
      adduser --system --group --quiet --home /var/lib/emberwatch --no-create-home \
        --shell /usr/sbin/nologin --gecos 'Emberwatch agent' "$user"
    elif [ -z "$root" ]; then
      useradd --system --user-group --home-dir /var/lib/emberwatch --no-create-home \
        --shell /usr/sbin/nologin --comment 'Emberwatch agent' "$user"
    else
      useradd --prefix "$root" --system --user-group --home-dir /var/lib/emberwatch --no-create-home \
        --shell /usr/sbin/nologin --comment 'Emberwatch agent' "$user"
    fi
  fi
  # Serial adapters and, where the system has the group, I2C buses.
  for g in dialout i2c; do
    if [ -n "$(id_in_root group "$g")" ]; then
      if [ -z "$root" ]; then
        usermod -a -G "$g" "$user"
      else
        usermod --prefix "$root" -a -G "$g" "$user"
      fi
    fi
  done
  gid=$(id_in_root group "$user")
  uid=$(id_in_root passwd "$user")
  # The site file may hold broker names and paths to credentials: readable
  # by the agent's group, not by everyone.
  chown "0:$gid" "$root/etc/emberwatch" "$root/etc/emberwatch/site.yaml"
  chmod 0750 "$root/etc/emberwatch"
  chmod 0640 "$root/etc/emberwatch/site.yaml"
  mkdir -p "$root/var/lib/emberwatch"
  chown "$uid:$gid" "$root/var/lib/emberwatch"
  chmod 0750 "$root/var/lib/emberwatch"
fi

if [ "$1" = configure ] || [ "$1" = abort-upgrade ] || [ "$1" = abort-deconfigure ] || [ "$1" = abort-remove ]; then
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper unmask emberwatch.service >/dev/null || true
    if deb-systemd-helper --quiet was-enabled emberwatch.service; then
      deb-systemd-helper enable emberwatch.service >/dev/null || true
    else
      deb-systemd-helper update-state emberwatch.service >/dev/null || true
    fi
  fi
  if [ -z "$root" ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    if [ -n "$2" ]; then
      # An upgrade: restart the agent if it was running.
      systemctl try-restart emberwatch.service >/dev/null || true
    else
      echo "emberwatch: edit /etc/emberwatch/site.yaml (check it with 'emberwatch check -c /etc/emberwatch/site.yaml'), then: systemctl start emberwatch"
    fi
  fi
fi
exit 0
EOF
  cat >"$d/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop emberwatch.service >/dev/null || true
fi
exit 0
EOF
  cat >"$d/postrm" <<'EOF'
#!/bin/sh
set -e
root=${DPKG_ROOT:-}
if [ "$1" = remove ] && command -v deb-systemd-helper >/dev/null 2>&1; then
  deb-systemd-helper mask emberwatch.service >/dev/null || true
fi
if [ "$1" = purge ]; then
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper purge emberwatch.service >/dev/null || true
    deb-systemd-helper unmask emberwatch.service >/dev/null || true
  fi
  # The queue and spool. The user stays, as Debian policy asks: files it
  # owned elsewhere must not fall to a later user with the same id.
  rm -rf "$root/var/lib/emberwatch"
  rmdir "$root/etc/emberwatch" 2>/dev/null || true
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOF
  chmod 0755 "$d/postinst" "$d/prerm" "$d/postrm"
}

# build_deb ARCH VERSION SITE_FILE OUTDIR [COMPRESSION]: one .deb, its path
# on stdout. COMPRESSION is dpkg-deb's -Z type (default xz).
build_deb() {
  local arch=$1 ver=$2 site=$3 out=$4 comp=${5:-xz}
  local r=$work/root-$arch-$ver
  rm -rf "$r"
  install -d -m 0755 "$r/DEBIAN" "$r/usr/bin" "$r/lib/systemd/system" "$r/etc/emberwatch" "$r/usr/share/doc/emberwatch"
  install -m 0755 "${bin_of[$arch]}" "$r/usr/bin/emberwatch"
  install -m 0644 "$unit" "$r/lib/systemd/system/emberwatch.service"
  install -m 0644 "$site" "$r/etc/emberwatch/site.yaml"
  install -m 0644 README.md "$r/usr/share/doc/emberwatch/README.md"
  gzip -9n <"$example" >"$r/usr/share/doc/emberwatch/site.example.yaml.gz"
  chmod 0644 "$r/usr/share/doc/emberwatch/site.example.yaml.gz"
  echo /etc/emberwatch/site.yaml >"$r/DEBIAN/conffiles"
  write_scripts "$r/DEBIAN"
  local size
  size=$(du -sk --exclude=DEBIAN "$r" | cut -f1)
  cat >"$r/DEBIAN/control" <<EOF
Package: emberwatch
Version: $ver
Architecture: $arch
Maintainer: Emberwatch developers <emberwatch@localhost>
Installed-Size: $size
Section: admin
Priority: optional
Homepage: https://github.com/emberwatch/emberwatch
Recommends: adduser
Description: battery thermal-runaway monitor for rack gateways
 Emberwatch polls UPS battery systems, PDUs and sensors over Modbus, SNMP
 and I2C, detects battery thermal runaway minutes before a fire, and
 publishes telemetry, alerts and power-shedding commands over MQTT.
 .
 The agent runs as the systemd service emberwatch under its own system
 user; its site file is /etc/emberwatch/site.yaml.
EOF
  find "$r" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  local deb=$out/emberwatch_${ver}_${arch}.deb
  dpkg-deb --root-owner-group -Z"$comp" --build "$r" "$deb" >/dev/null
  echo "$deb"
}

# build_tarball ARCH: emberwatch-VERSION-linux-ARCH.tar.gz with the binary,
# the unit, the example site file and the README.
build_tarball() {
  local arch=$1 name=emberwatch-$version-linux-$1
  local r=$work/tar/$name
  install -d "$r"
  install -m 0755 "${bin_of[$arch]}" "$r/emberwatch"
  install -m 0644 "$unit" "$r/emberwatch.service"
  install -m 0644 "$example" "$r/site.example.yaml"
  install -m 0644 README.md "$r/README.md"
  tar -C "$work/tar" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -cf - "$name" | gzip -9n >"dist/$name.tar.gz"
  echo "dist/$name.tar.gz"
}

rm -f dist/emberwatch_*.deb dist/emberwatch-*-linux-*.tar.gz
printf '%-56s %10s\n' package bytes
for a in "${arches[@]}"; do
  deb=$(build_deb "$a" "$version" "$example" dist)
  tgz=$(build_tarball "$a")
  printf '%-56s %10d\n' "$deb" "$(stat -c %s "$deb")" "$tgz" "$(stat -c %s "$tgz")"
done

[ "${PACKAGE_CHECK:-1}" = 0 ] && exit 0

# ---- checks ---------------------------------------------------------------
fail() { echo "package check: FAIL: $*" >&2; exit 1; }
ok() { echo "package check: ok: $*"; }

for a in "${arches[@]}"; do
  deb=dist/emberwatch_${version}_$a.deb
  info=$(dpkg-deb --info "$deb")
  grep -q "^ Architecture: $a\$" <<<"$info" || fail "$deb: architecture is not $a"
  grep -q "^ Version: $version\$" <<<"$info" || fail "$deb: version is not $version"
  for s in conffiles postinst prerm postrm; do grep -qw "$s" <<<"$info" || fail "$deb: no $s"; done
  [ "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)" = /etc/emberwatch/site.yaml ] ||
    fail "$deb: conffiles is not /etc/emberwatch/site.yaml"
  contents=$(dpkg-deb --contents "$deb")
  for want in '-rwxr-xr-x root/root .* ./usr/bin/emberwatch$' \
              '-rw-r--r-- root/root .* ./lib/systemd/system/emberwatch.service$' \
              '-rw-r--r-- root/root .* ./etc/emberwatch/site.yaml$'; do
    grep -q -- "$want" <<<"$contents" || fail "$deb: no line matching '$want' in dpkg-deb --contents"
  done
  # The binary is the one for this architecture.
  dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/bin/emberwatch >"$work/bin-$a"
  file_arch=$(od -An -tx1 -j18 -N2 "$work/bin-$a" | tr -d ' ')
  case $a:$file_arch in amd64:3e00|arm64:b700|armhf:2800) ;; *) fail "$deb: ELF machine $file_arch is not $a";; esac
  tar -tzf "dist/emberwatch-$version-linux-$a.tar.gz" >"$work/tar-$a.list"
  for f in emberwatch emberwatch.service site.example.yaml README.md; do
    grep -qx "emberwatch-$version-linux-$a/$f" "$work/tar-$a.list" || fail "tarball $a: no $f"
  done
done
ok "dpkg-deb --info/--contents: unit, conffile, maintainer scripts, ELF machine, tarballs (${arches[*]})"

if ! command -v dpkg >/dev/null || ! command -v useradd >/dev/null; then
  fail "dpkg and useradd are needed for the install checks"
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "package check: not root; install checks skipped (dpkg-deb checks passed)" >&2
  [ "${CI:-}" = true ] && fail "CI=true: the install checks need root"
  exit 0
fi

# A scratch Debian root: the dpkg database and the account files; the
# maintainer scripts run chrootless against it (DPKG_ROOT).
root=$work/scratch
install -d "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc" "$root/usr/sbin" "$root/tmp"
: >"$root/var/lib/dpkg/status"
: >"$root/var/lib/dpkg/available"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ndialout:x:20:\n' >"$root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
printf 'root:*::\ndialout:*::\n' >"$root/etc/gshadow"
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"
mkdir -p "$root/lib/systemd/system"
dpkg_root() {
  dpkg --root="$root" --force-script-chrootless --force-confdef --force-confold \
    --log=/dev/null "$@" </dev/null
}

# v1 and v2 differ in the binary version only by name, and in the example
# site file, so that the upgrade exercises a conffile changed on both sides.
v1=$version~pkgtest1
v2=$version~pkgtest2
sed 's/^# Emberwatch site file/# Emberwatch site file (v2 example)/' "$example" >"$work/site-v2.yaml"
deb1=$(build_deb amd64 "$v1" "$example" "$work" gzip)
deb2=$(build_deb amd64 "$v2" "$work/site-v2.yaml" "$work" gzip)

dpkg_root -i "$deb1" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; fail "dpkg --root -i $deb1"; }
mode() { stat -c '%a %U:%G' "$1" 2>/dev/null || echo missing; }
owner() { stat -c '%a %u:%g' "$1" 2>/dev/null || echo missing; }
uid=$(awk -F: '$1=="emberwatch"{print $3}' "$root/etc/passwd")
gid=$(awk -F: '$1=="emberwatch"{print $3}' "$root/etc/group")
[ -n "$uid" ] && [ -n "$gid" ] || fail "postinst made no emberwatch user/group in the root"
line=$(grep '^emberwatch:' "$root/etc/passwd")
[[ $line == *:/var/lib/emberwatch:/usr/sbin/nologin ]] || fail "user: $line"
[ "$uid" -lt 1000 ] || fail "user id $uid is not a system id"
grep -q '^dialout:.*emberwatch' "$root/etc/group" || fail "emberwatch is not in dialout"
for want in "usr/bin/emberwatch|755 0:0" "lib/systemd/system/emberwatch.service|644 0:0" \
            "etc/emberwatch|750 0:$gid" "etc/emberwatch/site.yaml|640 0:$gid" \
            "var/lib/emberwatch|750 $uid:$gid"; do
  p=${want%%|*} m=${want#*|}
  [ "$(owner "$root/$p")" = "$m" ] || fail "/$p: $(owner "$root/$p"), want $m"
done
[ -L "$root/etc/systemd/system/multi-user.target.wants/emberwatch.service" ] || fail "unit not enabled (no multi-user.target.wants link)"
"$root/usr/bin/emberwatch" version >/dev/null || fail "installed binary does not run"
cmp -s "$root/etc/emberwatch/site.yaml" "$example" || fail "installed site.yaml is not the example"
# The unit runs 'emberwatch check' before starting: an example the binary
# rejects keeps a fresh install from starting. Stale dist/ binaries (no
# 'make cross' since the example changed) give the same message.
if ! "$root/usr/bin/emberwatch" check -c "$root/etc/emberwatch/site.yaml" >"$work/check.log" 2>&1; then
  sed 's/^/  /' "$work/check.log" >&2
  echo "package check: WARNING: the packaged binary rejects the example site file (rebuild dist/ with make cross?)" >&2
fi
ok "amd64 $v1 installed in a scratch root: user $uid:$gid, files, owners and modes, unit enabled, binary runs"

if command -v systemd-analyze >/dev/null; then
  sed "s#/usr/bin/emberwatch#$root/usr/bin/emberwatch#g" "$root/lib/systemd/system/emberwatch.service" >"$work/emberwatch.service"
  out=$(systemd-analyze verify "$work/emberwatch.service" 2>&1) && [ -z "$out" ] || fail "systemd-analyze verify: $out"
  ok "systemd-analyze verify accepts the installed unit"
elif [ "${CI:-}" = true ]; then
  fail "systemd-analyze not found (Debian package systemd)"
fi

# The administrator edits the site file; v2 ships a changed example.
sed -i 's/^gateway: rack-a07$/gateway: rack-b12/' "$root/etc/emberwatch/site.yaml"
edited=$(sha256sum <"$root/etc/emberwatch/site.yaml")
dpkg_root -i "$deb2" >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log" >&2; fail "upgrade to $v2"; }
[ "$(sha256sum <"$root/etc/emberwatch/site.yaml")" = "$edited" ] || fail "upgrade replaced the edited site file"
grep -q '^gateway: rack-b12$' "$root/etc/emberwatch/site.yaml" || fail "edited site file lost"
cmp -s "$root/etc/emberwatch/site.yaml.dpkg-dist" "$work/site-v2.yaml" || fail "the new example is not kept as site.yaml.dpkg-dist"
[ "$(owner "$root/etc/emberwatch/site.yaml")" = "640 0:$gid" ] || fail "site.yaml after upgrade: $(owner "$root/etc/emberwatch/site.yaml")"
[ "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version} ${Status}' emberwatch)" = "$v2 install ok installed" ] ||
  fail "after upgrade: $(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Version} ${Status}' emberwatch)"
[ "$(awk -F: '$1=="emberwatch"{print $3}' "$root/etc/passwd")" = "$uid" ] || fail "upgrade changed the user"
ok "upgrade $v1 -> $v2 keeps the edited site.yaml (new example as site.yaml.dpkg-dist), owners, user"

# A second upgrade where only the administrator changed the file, without
# any --force-conf option: dpkg keeps it without asking.
dpkg --root="$root" --force-script-chrootless --log=/dev/null -i "$deb2" </dev/null >"$work/reinstall.log" 2>&1 ||
  { cat "$work/reinstall.log" >&2; fail "reinstall of $v2 without --force-conf*"; }
grep -q '^gateway: rack-b12$' "$root/etc/emberwatch/site.yaml" || fail "reinstall lost the edited site file"
ok "reinstall without --force-conf* keeps the edited site.yaml without a prompt"

dpkg_root --purge emberwatch >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "purge"; }
for p in usr/bin/emberwatch lib/systemd/system/emberwatch.service etc/emberwatch var/lib/emberwatch \
         etc/systemd/system/multi-user.target.wants/emberwatch.service; do
  [ ! -e "$root/$p" ] && [ ! -L "$root/$p" ] || fail "/$p left after purge"
done
ok "purge removes the binary, unit, site file, state directory and the unit's link"
