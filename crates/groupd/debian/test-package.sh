#!/usr/bin/env bash
# Builds groupd's Debian package, installs it on this machine with dpkg, and checks what the spec
# promises (operations.md, Distribution): the binary in /usr/bin, the system user, the unit, the
# settings file, the state directory, a server running as the unit runs it, and a clean purge.
# Needs root and cargo-deb (`cargo install cargo-deb`); without root it says so and skips.
# Changes this machine: run it on a throwaway one (CI's, a container).
#
#   crates/groupd/debian/test-package.sh            # builds a release binary first
#   crates/groupd/debian/test-package.sh --no-build # packages the release binary already built
#   crates/groupd/debian/test-package.sh --debug    # packages the debug binary already built (CI:
#                                                   # the test run built it; no release build)
set -euo pipefail
cd "$(dirname "$0")/../../.."

if [ "$(id -u)" != 0 ]; then
  echo "SKIPPED: the package test installs with dpkg and needs root"
  exit 0
fi
command -v cargo-deb >/dev/null 2>&1 || { echo "cargo-deb is absent: cargo install --locked cargo-deb" >&2; exit 1; }

target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
build=()
case "${1:-}" in
  --no-build) build=(--no-build) ;;
  --debug)
    # cargo-deb packages target/release/groupd (and refuses dev-profile paths): give it the debug
    # binary there, in a scratch target dir, linked rather than copied (it is large). cargo-deb
    # strips into new files, so the original stays as it is.
    bin="$target/debug/groupd"
    [ -x "$bin" ] || { echo "no debug binary at $bin: build it first (cargo build)" >&2; exit 1; }
    stage="$target/deb-from-debug"
    rm -rf "$stage" && mkdir -p "$stage/release"
    ln "$bin" "$stage/release/groupd" 2>/dev/null || cp "$bin" "$stage/release/groupd"
    export CARGO_TARGET_DIR="$stage"
    # Faster compression: this package is only installed here and thrown away.
    build=(--no-build --fast)
    ;;
  "") ;;
  *) echo "usage: $0 [--no-build|--debug]" >&2; exit 2 ;;
esac
# cargo deb prints the package paths; the debug symbols go to a separate .ddeb.
log=$(mktemp)
deb=$(cargo deb -p groupd "${build[@]}" 2>"$log" | grep '\.deb$' | tail -n1) || true
[ -n "$deb" ] && [ -f "$deb" ] || { cat "$log" >&2; echo "cargo deb made no package" >&2; exit 1; }
rm -f "$log"
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | grep -E 'Package|Version|Depends|Installed-Size'

dpkg -i "$deb" >/dev/null
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(/usr/bin/groupd --version)" = "groupd $(dpkg-deb -f "$deb" Version | cut -d- -f1)" ] || fail "groupd --version"
id groupd >/dev/null || fail "no groupd user"
[ "$(id -u groupd)" -lt 1000 ] || fail "groupd is not a system user"
[ -f /etc/default/groupd ] || fail "no /etc/default/groupd"
[ "$(stat -c %U /var/lib/groupd)" = groupd ] || fail "/var/lib/groupd not owned by groupd"
unit=$(dpkg -L groupd | grep '/groupd.service$') || fail "no systemd unit"
grep -q '^User=groupd$' "$unit" || fail "unit does not run as groupd"
grep -q '^EnvironmentFile=-/etc/default/groupd$' "$unit" || fail "unit does not read /etc/default/groupd"
dpkg-query -W -f='${Conffiles}\n' groupd | grep -q /etc/default/groupd || fail "/etc/default/groupd is not a conffile"

# Run it as the unit does (systemd may not run here): its user, its settings, its directory.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd /var/lib/groupd && set -a && . /etc/default/groupd && set +a &&
  exec runuser -u groupd -- env GROUPD_DATABASE_URL="$GROUPD_DATABASE_URL" GROUPD_LISTEN="127.0.0.1:$port" \
    /usr/bin/groupd serve) 2>/tmp/groupd-package-test.log &
server=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/_health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/_health" | grep -q '"ok"' || fail "the packaged server is not healthy"
kill "$server"; wait "$server" || true
[ "$(stat -c %U /var/lib/groupd/groupd.db)" = groupd ] || fail "database not created by groupd in /var/lib/groupd"

dpkg -r groupd >/dev/null
[ ! -e /usr/bin/groupd ] || fail "binary left after remove"
[ -e /var/lib/groupd/groupd.db ] || fail "remove must keep the data"
dpkg -P groupd >/dev/null
[ ! -e /var/lib/groupd ] || fail "purge must remove /var/lib/groupd"
! id groupd >/dev/null 2>&1 || fail "purge must remove the groupd user"
echo "ok: built, installed, served as groupd, removed, purged"
