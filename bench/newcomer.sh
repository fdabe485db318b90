#!/usr/bin/env bash
# The newcomer's path, timed: fresh clone -> build -> project -> serve -> first captured group,
# with the README's own commands. Usage:
#
#   bench/newcomer.sh [REPO] [WORKDIR]
#
# REPO is what `git clone` takes (default: this checkout); WORKDIR (default: a new temporary
# directory, removed at the end) receives the clone and, unless CARGO_TARGET_DIR is set, a fresh
# target directory, so the build is cold. Crates already in ~/.cargo are not downloaded again:
# say so when quoting the build time. GROUPD_BIN=path skips the build and times the rest with that
# binary. Prints one line per step and a Markdown table.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${1:-$here}"
work="${2:-}"
if [[ -z "$work" ]]; then
  work="$(mktemp -d)"
  trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
else
  mkdir -p "$work"
  trap 'kill "${server:-0}" 2>/dev/null || true' EXIT
fi
now() { date +%s.%N; }
declare -a rows
step() { # name, start
  local took
  took="$(echo "$(now) - $2" | bc)"
  printf '%-34s %8.1f s\n' "$1" "$took" >&2
  rows+=("| $1 | $(printf '%.1f' "$took") s |")
}

t0="$(now)"
t="$(now)"
git clone --quiet "$repo" "$work/groupd"
step "git clone" "$t"
cd "$work/groupd"

if [[ -n "${GROUPD_BIN:-}" ]]; then
  # The steps after the build only, with a binary built elsewhere.
  bin="$GROUPD_BIN"
  echo "build skipped: GROUPD_BIN=$bin" >&2
else
  t="$(now)"
  cargo build --release --quiet
  step "cargo build --release (cold)" "$t"
  bin="${CARGO_TARGET_DIR:-$work/groupd/target}/release/groupd"
fi

t="$(now)"
project="$("$bin" project create --name demo 2>/dev/null)"
token="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["api_token"])' "$project")"
step "groupd project create" "$t"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
t="$(now)"
"$bin" serve --listen "127.0.0.1:$port" 2>"$work/serve.log" &
server=$!
until curl -sf "http://127.0.0.1:$port/_health" >/dev/null; do sleep 0.05; done
step "groupd serve (until /_health is 200)" "$t"

t="$(now)"
curl -sf "http://127.0.0.1:$port/i/v0/e/" -H 'Content-Type: application/json' -d '{
  "api_key": "'"$token"'", "event": "$groupidentify", "distinct_id": "user-1",
  "properties": {"$group_type": "company", "$group_key": "acme", "$group_set": {"name": "Acme"}}}' \
  >/dev/null
key="$("$bin" key create --label newcomer --scopes group:read 2>/dev/null |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
found="$(curl -sf -H "Authorization: Bearer $key" \
  "http://127.0.0.1:$port/api/projects/1/groups/find?group_type_index=0&group_key=acme")"
python3 -c 'import json,sys; g=json.loads(sys.argv[1]); assert g["group_properties"]=={"name":"Acme"}, g' "$found"
step "first captured group, read back" "$t"
step "total" "$t0"

echo
echo "| step | time |"
echo "|---|---:|"
printf '%s\n' "${rows[@]}"
