#!/usr/bin/env bash
# A newcomer's path, exactly as the README writes it: a fresh clone, `npm install`, `npm test`,
# with no prebuild step and nothing from this checkout's build outputs or node_modules.
#   scripts/check-fresh-clone.sh [repository (default: this one)] [rounds (default 1)]
# Clones the committed HEAD: commit what you want checked first.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${1:-$here}"
rounds="${2:-1}"
rev="$(git -C "$repo" rev-parse HEAD)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/nt-fresh-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export npm_config_audit=false npm_config_fund=false
for i in $(seq 1 "$rounds"); do
  echo "== fresh clone $i/$rounds of $rev into $tmp/clone"
  rm -rf "$tmp/clone"
  git clone --quiet --no-hardlinks "$repo" "$tmp/clone"
  git -C "$tmp/clone" checkout --quiet "$rev"
  cd "$tmp/clone"
  test ! -e prebuilds && test ! -e build && test ! -e dist
  echo "== npm install"
  npm install
  echo "== npm test"
  npm test
  cd "$here"
done
echo "fresh clone: npm install && npm test passed ($rounds round(s))"
