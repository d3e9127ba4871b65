#!/usr/bin/env bash
# The docs' recipes, run as written, each in a clean shell with only what it says to install.
# A recipe is the fenced blocks of one page that follow an `<!-- recipe: NAME ROLE -->` line,
# extracted from the page itself (so the two cannot drift):
#   install  what the reader installs first; run as written, fresh, except the azure-cli
#            venv, which is the one scripts/test made from scripts/requirements-azcli.txt
#            (the same command; 700 MB is not made twice)
#   serve    started in the background ("in one shell"); the recipe waits for `wif up`'s
#            last banner line
#   run      the reader's shell ("in another"): every run block of the recipe, in order
# Every install line of the docs' shell blocks, in a recipe or not, is pinned to what the tests
# use: `pip install X==V` to the pin of scripts/requirements-test.txt or requirements-azcli.txt,
# `npm install X@V` to scripts/node-clients/package.json's.
# Each recipe gets an empty directory (with `scripts` linking to the checkout's, for "from the
# checkout"), a HOME of its own (wif up's default state directory, the venvs) and an
# environment holding only PATH (the machine's, `wif` the binary under test first), HOME,
# LANG and the package managers' settings (and for the install block, how this machine
# reaches the registries); it must succeed and print what it promises (expectations below,
# one per recipe name).
# Usage: scripts/readme_walkthrough.sh WIF VENV_PYTHON [AZ]
#   VENV_PYTHON  the test venv's python (scripts/test's); the azure-cli venv is found beside it
#   AZ           azure-cli's `az` in that venv (default: VENV/../azcli-venv/bin/az)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
wif=$1
python=$2
az=${3:-$(dirname "$(dirname "$(dirname "$python")")")/azcli-venv/bin/az}
azcli_venv=$(realpath -m "$(dirname "$az")/..")
work=$(mktemp -d)
# Each recipe's shells run in process groups of their own, stopped with what they started
# (a server started with &, when a later line fails).
groups=()
stop_groups() {
  for g in ${groups[@]+"${groups[@]}"}; do kill -- -"$g" 2>/dev/null || true; done
  groups=()
}
trap 'stop_groups; rm -rf "$work"' EXIT
mkdir -p "$work/bin"
ln -s "$(cd "$(dirname "$wif")" && pwd)/$(basename "$wif")" "$work/bin/wif"
failed=0
fail() { echo "FAILED: $*"; failed=$((failed + 1)); }

# The blocks of `page` marked `<!-- recipe: NAME ROLE -->`, in page order.
blocks() { # page name role
  awk -v want="<!-- recipe: $2 $3 -->" '
    $0 == want {armed = 1; next}
    armed && !inside && /^```/ {inside = 1; next}
    inside && /^```/ {inside = 0; armed = 0; next}
    inside {print}' "$1"
}

# The pin of `package` in the files the tests install from.
pip_pin() { awk -F'==' -v want="$1" 'tolower($1) == tolower(want) {print; exit}' "$root"/scripts/requirements-*.txt; }
npm_pin() {
  sed -nE "s/^ *\"$(printf '%s' "$1" | sed 's/[/.]/\\&/g')\": *\"([^\"]+)\".*/\1/p" "$root/scripts/node-clients/package.json"
}

# Checks the pins of the install lines in `file`; prints what is wrong.
check_pins() { # file
  local line word name value
  while IFS= read -r line; do
    line=${line%%#*}
    if [[ $line == *"pip install "* ]]; then
      value=""
      for word in ${line#*pip install }; do
        [ -z "$value" ] || { value=""; continue; }
        case $word in -r|--requirement|-c|--constraint|-t|--target) value=1; continue ;; -*) continue ;; '&&'|';'|'|') break ;; esac
        name=${word%%==*}
        if [ "$name" = "$word" ]; then echo "pip install $word: not pinned (==VERSION)"
        elif [ "$(pip_pin "$name")" != "$word" ]; then echo "pip install $word: the tests pin $(pip_pin "$name" || true)"
        fi
      done
    fi
    if [[ $line == *"npm install "* ]]; then
      value=""
      for word in ${line#*npm install }; do
        [ -z "$value" ] || { value=""; continue; }
        case $word in --prefix) value=1; continue ;; -*) continue ;; '&&'|';'|'|') break ;; esac
        name=${word%@*}
        if [ -z "$name" ] || [ "$name" = "$word" ]; then echo "npm install $word: not pinned (@VERSION)"
        elif [ "$(npm_pin "$name")" != "${word##*@}" ]; then echo "npm install $word: the tests pin ${name}@$(npm_pin "$name")"
        fi
      done
    fi
  done < "$1"
}

# Runs `script` in the recipe's clean environment, in its own process group, in the
# background; its pid (= group) in $!. An install block also gets how this machine reaches the
# package registries (its pip and npm settings, proxies and CA bundles), as the reader's shell
# would have them; the others get none of it.
clean_shell() { # dir home script out err
  local settings=() pattern='^(PIP_|npm_config_|NPM_CONFIG_)'
  [ "$3" != .install.sh ] ||
    pattern='^(PIP_|npm_config_|NPM_CONFIG_|(HTTPS?|https?|NO|no)_(PROXY|proxy)|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|NODE_EXTRA_CA_CERTS)='
  while IFS= read -r v; do settings+=("$v"); done < <(env | grep -E "$pattern" || true)
  (cd "$1" && exec env -i HOME="$2" PATH="$work/bin:$PATH" LANG=C.UTF-8 TERM=dumb \
    PIP_CACHE_DIR="${PIP_CACHE_DIR:-$HOME/.cache/pip}" npm_config_cache="${npm_config_cache:-$HOME/.npm}" \
    ${settings[@]+"${settings[@]}"} setsid timeout 900 bash -euo pipefail "$3" > "$4" 2> "$5") &
}

# What a recipe must print, besides succeeding: empty when it does.
expected() { # name stdout
  case $1 in
    walkthrough)
      grep -q '"access_token":"eyJ' "$2" || echo "wif token get printed no token"
      grep -q '^azure-identity got a token: eyJ' "$2" || echo "azure-identity got no token" ;;
    up)
      [ "$(grep -cE '^eyJ[A-Za-z0-9_-]{37}$' "$2")" = 2 ] && [ "$(wc -l < "$2")" = 2 ] \
        || echo "not two token prefixes (Python's, then Node's)" ;;
    tutorial)
      [ "$(tail -n 1 "$2")" = "Hello!" ] || echo "the workload did not print the secret, Hello!" ;;
    *) echo "no expectation for a recipe named $1 (add one to scripts/readme_walkthrough.sh)" ;;
  esac
}

run_recipe() { # page name
  local page=$1 name=$2 label dir home pid waited problem
  label="${page#"$root/"}'s $name recipe"
  dir="$work/$name" home="$work/$name/home"
  mkdir -p "$home"
  ln -s "$root/scripts" "$dir/scripts"
  blocks "$page" "$name" install > "$dir/.install.sh"
  blocks "$page" "$name" serve > "$dir/.serve.sh"
  blocks "$page" "$name" run > "$dir/.run.sh"
  [ -s "$dir/.run.sh" ] || { fail "$label has no run block"; return; }
  if grep -q 'wif-az' "$dir/.install.sh"; then
    local line pin
    pin=$(pip_pin azure-cli)
    line="python3 -m venv ~/.wif-az && ~/.wif-az/bin/pip install $pin"
    grep -qxF "$line" "$dir/.install.sh" || { fail "$label: its azure-cli line is not \`$line\`"; return; }
    [ -x "$az" ] || { fail "$label needs the azure-cli venv scripts/test makes ($azcli_venv)"; return; }
    ln -s "$azcli_venv" "$home/.wif-az"
    grep -vxF "$line" "$dir/.install.sh" > "$dir/.install.rest" || true
    mv "$dir/.install.rest" "$dir/.install.sh"
  fi
  if [ -s "$dir/.install.sh" ]; then
    clean_shell "$dir" "$home" .install.sh "$work/$name.install.out" "$work/$name.install.err"
    groups+=("$!")
    wait "$!" || { fail "$label: its install block, as written:"; cat "$work/$name".install.*; stop_groups; return; }
  fi
  if [ -s "$dir/.serve.sh" ]; then
    clean_shell "$dir" "$home" .serve.sh "$work/$name.serve.out" "$work/$name.serve.err"
    pid=$!
    groups+=("$pid")
    waited=0
    until grep -qsx 'Ctrl-C stops every server.' "$work/$name.serve.out"; do
      if ! kill -0 "$pid" 2>/dev/null || [ "$waited" -ge 600 ]; then
        fail "$label: its serve block did not get ready:"; cat "$work/$name.serve.out" "$work/$name.serve.err"
        stop_groups; return
      fi
      sleep 0.1; waited=$((waited + 1))
    done
  fi
  clean_shell "$dir" "$home" .run.sh "$work/$name.out" "$work/$name.err"
  groups+=("$!")
  if ! wait "$!"; then
    fail "$label, as written:"; cat "$work/$name.out" "$work/$name.err"; stop_groups; return
  fi
  stop_groups
  problem=$(expected "$name" "$work/$name.out")
  if [ -n "$problem" ]; then
    fail "$label: $problem:"; cat "$work/$name.out" "$work/$name.err"; return
  fi
  echo "ok: $label runs as written ($(cat "$dir"/.install.sh "$dir"/.serve.sh "$dir"/.run.sh | grep -c .) lines)"
}

# Every install line of the docs, in a recipe or not (README repeats the walkthrough's), names
# the versions the tests use.
for page in "$root/README.md" "$root"/docs/*.md; do
  awk '/^```(sh|bash|shell)$/ {on = 1; next} /^```/ {on = 0} on' "$page" > "$work/shell-lines"
  problem=$(check_pins "$work/shell-lines")
  [ -z "$problem" ] || fail "${page#"$root/"} installs what the tests do not: $problem"
done

found=0
for page in "$root/README.md" "$root"/docs/*.md; do
  for name in $(sed -nE 's/^<!-- recipe: ([a-z0-9-]+) (install|serve|run) -->$/\1/p' "$page" | awk '!seen[$0]++'); do
    found=$((found + 1))
    run_recipe "$page" "$name"
  done
done
[ "$found" -gt 0 ] || fail "no page has a recipe"
[ "$failed" -eq 0 ]
