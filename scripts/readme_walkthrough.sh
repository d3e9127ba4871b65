#!/usr/bin/env bash
# README's walkthrough, run as written: the block between `<!-- walkthrough: start -->` and
# `<!-- walkthrough: end -->` is extracted from README.md itself (so the two cannot drift) and
# run by bash -e in an empty directory, with `wif` the binary under test and `python3` the test
# venv's (azure-identity). It must succeed and print a token twice: wif's and azure-identity's.
# Usage: scripts/readme_walkthrough.sh WIF VENV_PYTHON
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wif=$1
python=$2
work=$(mktemp -d)
# The walkthrough runs in a process group of its own, so what it leaves running (a server it
# started with &, when a later line fails) is stopped with it.
group=""
# A group already gone is no failure (under set -e, a failed kill would end the trap, and
# the script, with status 1 after it printed ok).
trap '{ [ -n "$group" ] && kill -- -"$group" 2>/dev/null; } || true; rm -rf "$work"' EXIT
awk '/<!-- walkthrough: start -->/ {on=1; next} /<!-- walkthrough: end -->/ {on=0} on' "$root/README.md" \
  | sed '1{/^```/d}; ${/^```/d}' > "$work/walkthrough.sh"
[ -s "$work/walkthrough.sh" ] || { echo "FAILED: README.md has no walkthrough block"; exit 1; }
mkdir -p "$work/bin" "$work/run"
ln -s "$(cd "$(dirname "$wif")" && pwd)/$(basename "$wif")" "$work/bin/wif"
cd "$work/run"
# The venv's own bin directory (a link to its python would not find the venv).
PATH="$work/bin:$(dirname "$python"):$PATH" setsid bash -euo pipefail "$work/walkthrough.sh" > "$work/out" 2>&1 &
group=$!
if ! wait "$group"; then
  echo "FAILED: README's walkthrough, as written:"; cat "$work/out"; exit 1
fi
grep -q '"access_token":"eyJ' "$work/out" || { echo "FAILED: wif token get printed no token:"; cat "$work/out"; exit 1; }
grep -q '^azure-identity got a token: eyJ' "$work/out" || { echo "FAILED: azure-identity got no token:"; cat "$work/out"; exit 1; }
echo "ok: README's walkthrough runs as written ($(grep -c . "$work/walkthrough.sh") lines)"
