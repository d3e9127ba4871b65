#!/usr/bin/env bash
# The docs' walkthroughs, run as written: every block between `<!-- walkthrough: start -->` and
# `<!-- walkthrough: end -->` in README.md and docs/*.md (today docs/walkthrough.md) is
# extracted from the page itself (so the two cannot drift) and run by bash -e in an empty
# directory, with `wif` the binary under test and `python3` the test venv's (azure-identity).
# Each must succeed and print a token twice: wif's and azure-identity's.
# Usage: scripts/readme_walkthrough.sh WIF VENV_PYTHON
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wif=$1
python=$2
work=$(mktemp -d)
# A walkthrough runs in a process group of its own, so what it leaves running (a server it
# started with &, when a later line fails) is stopped with it.
group=""
# A group already gone is no failure (under set -e, a failed kill would end the trap, and
# the script, with status 1 after it printed ok).
trap '{ [ -n "$group" ] && kill -- -"$group" 2>/dev/null; } || true; rm -rf "$work"' EXIT
mkdir -p "$work/bin"
ln -s "$(cd "$(dirname "$wif")" && pwd)/$(basename "$wif")" "$work/bin/wif"
found=0
for page in "$root/README.md" "$root"/docs/*.md; do
  grep -q '<!-- walkthrough: start -->' "$page" || continue
  found=$((found + 1))
  name=${page#"$root/"}
  script="$work/walkthrough-$found.sh"
  awk '/<!-- walkthrough: start -->/ {on=1; next} /<!-- walkthrough: end -->/ {on=0} on' "$page" \
    | sed '1{/^```/d}; ${/^```/d}' > "$script"
  [ -s "$script" ] || { echo "FAILED: $name has an empty walkthrough block"; exit 1; }
  run="$work/run-$found"
  mkdir -p "$run"
  # The venv's own bin directory (a link to its python would not find the venv).
  cd "$run"
  PATH="$work/bin:$(dirname "$python"):$PATH" setsid bash -euo pipefail "$script" > "$work/out-$found" 2>&1 &
  group=$!
  if ! wait "$group"; then
    echo "FAILED: the walkthrough of $name, as written:"; cat "$work/out-$found"; exit 1
  fi
  group=""
  grep -q '"access_token":"eyJ' "$work/out-$found" || { echo "FAILED: $name: wif token get printed no token:"; cat "$work/out-$found"; exit 1; }
  grep -q '^azure-identity got a token: eyJ' "$work/out-$found" || { echo "FAILED: $name: azure-identity got no token:"; cat "$work/out-$found"; exit 1; }
  echo "ok: the walkthrough of $name runs as written ($(grep -c . "$script") lines)"
done
[ "$found" -gt 0 ] || { echo "FAILED: no page has a walkthrough block"; exit 1; }
