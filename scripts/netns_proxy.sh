#!/usr/bin/env bash
# The iptables redirect of `wif proxy init`, proven for real where nothing can leave: run by
# scripts/test as `unshare --net bash scripts/netns_proxy.sh WIF`, inside a network namespace
# made for it with only `lo`, the metadata address added to `lo`. This is the one test that
# names 169.254.169.254. It checks: after `wif proxy init`, a plain HTTP request to
# 169.254.169.254:80 reaches the proxy and gets a token from the emulator; the proxy's own
# user (UID 1501) is not redirected; a second init changes nothing; --undo takes it all out,
# and a second undo changes nothing. One line per check; exit non-zero on failure.
set -uo pipefail
wif=$1
failed=0
check() { # name, then the command that must succeed
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failed=$((failed + 1)); fi
}
# Refuse to touch the metadata address anywhere but in a namespace of our own.
links=$(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
if [ "$links" != "lo " ]; then
  echo "FAILED: netns_proxy.sh must run in a private network namespace with only lo (found: $links)"; exit 1
fi
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT

tenant=aaaaaaaa-0000-4000-8000-00000000000a
reader=11111111-0000-4000-8000-000000000001
issuer=https://oidc.netns.example/
"$wif" issuer keygen --out "$work/sa.key" >/dev/null 2>&1
"$wif" jwks --public-keys "$work/sa.key" --output-file "$work/jwks.json"
cat > "$work/directory.yaml" <<YAML
tenants:
  - tenantId: $tenant
    applications:
      - displayName: reader
        appId: $reader
        federatedIdentityCredentials:
          - { name: k8s, issuer: "$issuer", subject: "system:serviceaccount:demo:app", audiences: [api://AzureADTokenExchange] }
issuers:
  - { issuer: "$issuer", jwksFile: jwks.json }
YAML
"$wif" issuer mint --key "$work/sa.key" --issuer "$issuer" --namespace demo --service-account app --out "$work/token"

banner() { # file pattern: waits (by polling the file the server writes) for its banner line
  for _ in $(seq 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "FAILED: '$2' never appeared in $1"; cat "$1"; exit 1
}
"$wif" sts --config "$work/directory.yaml" --addr 127.0.0.1:0 --health-addr 127.0.0.1:0 \
  --self-signed-ca-out "$work/sts-ca.pem" > "$work/sts.out" 2>&1 &
pids+=($!)
banner "$work/sts.out" "listening on"
sts=$(sed -n 's/.*listening on \(https:[^ ]*\).*/\1/p' "$work/sts.out")
AZURE_TENANT_ID=$tenant AZURE_CLIENT_ID=$reader AZURE_FEDERATED_TOKEN_FILE="$work/token" \
  AZURE_AUTHORITY_HOST="$sts" SSL_CERT_FILE="$work/sts-ca.pem" \
  "$wif" proxy --proxy-port 0 > "$work/proxy.out" 2>&1 &
pids+=($!)
banner "$work/proxy.out" "listening on"
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/proxy.out")

imds() { # curl args...: the status and body of a token request to the metadata address
  curl -s --max-time 10 -o "$work/answer.json" -w '%{http_code}' "$@" \
    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"
}
check "before init, nothing answers on 169.254.169.254:80" test "$(imds -H 'Metadata: true')" = 000

PROXY_PORT=$port "$wif" proxy init > "$work/init1.out" 2>&1
check "wif proxy init applies the redirect" grep -q "change(s) made: the redirect is in place" "$work/init1.out"
iptables -t nat -S > "$work/rules1"
check "the metadata address reaches the proxy and the emulator's token comes back" \
  test "$(imds -H 'Metadata: true')" = 200
check "the answer is IMDS's, for the default identity" grep -q "\"client_id\":\"$reader\"" "$work/answer.json"
check "IMDS's header rule holds through the redirect" test "$(imds)" = 400
check "the proxy's own user (UID 1501) is not redirected" \
  test "$(setpriv --reuid 1501 --regid 1501 --clear-groups curl -s --max-time 10 -o /dev/null -w '%{http_code}' http://169.254.169.254/)" = 000

PROXY_PORT=$port "$wif" proxy init > "$work/init2.out" 2>&1
iptables -t nat -S > "$work/rules2"
check "a second init succeeds and changes nothing" grep -q "the redirect is already in place: nothing changed" "$work/init2.out"
check "the nat table is the same after the second init" cmp -s "$work/rules1" "$work/rules2"

"$wif" proxy init --undo > "$work/undo1.out" 2>&1
check "wif proxy init --undo takes the redirect out" grep -q "change(s) made: the redirect is removed" "$work/undo1.out"
check "no AZWI chain or rule is left" bash -c "! iptables -t nat -S | grep -q AZWI"
check "after undo, nothing answers on 169.254.169.254:80 again" test "$(imds -H 'Metadata: true')" = 000
"$wif" proxy init --undo > "$work/undo2.out" 2>&1
check "a second undo changes nothing" grep -q "the redirect is already removed: nothing changed" "$work/undo2.out"

echo "netns_proxy: $failed failure(s)"
[ "$failed" -eq 0 ]
