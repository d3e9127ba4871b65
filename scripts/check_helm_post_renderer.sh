#!/usr/bin/env bash
# The Helm post-renderer recipe, run as written. The lines of `wif render --help` that name the
# post-renderer must be docs/webhook.md's, word for word; each is then run with helm built from
# its Go module (`helm install` run as `helm template`: offline, no cluster), Helm 4 with the
# plugin in deploy/helm-post-renderer, and Helm 3 for the line marked `# Helm 3`, on a tiny chart:
# a Deployment labelled azure.workload.identity/use whose ServiceAccount carries a client id,
# and an unlabelled one. Asserted: the labelled pod template comes out mutated as the webhook
# would (AZURE_CLIENT_ID and AZURE_TENANT_ID in the container's env, the token file on a
# projected serviceAccountToken volume for api://AzureADTokenExchange), the other one and the
# rest of the chart pass through; without the post-renderer nothing is mutated (the assertion
# can fail); AZURE_TENANT_ID in Helm's environment stands in for --tenant-id, as the docs say;
# a refusal by wif fails the helm run with no manifest printed, and what each Helm then prints
# is what the docs say.
#
# helm is built once per version into target/tools/helm-VERSION/ (CGO off, GOFLAGS=-mod=mod,
# GOTOOLCHAIN=local, the machine's GOPROXY, at most 20 minutes each) and reused while that
# binary answers with its version. Every HELM_* home, HOME and KUBECONFIG point into a temp dir:
# nothing of the user's helm or cluster setup is read or written.
# usage: scripts/check_helm_post_renderer.sh WIF [PYTHON]   (PYTHON: one with PyYAML; python3)
#        scripts/check_helm_post_renderer.sh --build-only     (build Helm 4 once, print its path)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ $# -ge 1 ] || { echo "usage: scripts/check_helm_post_renderer.sh WIF [PYTHON] | --build-only" >&2; exit 2; }
build_only=false
if [ "$1" = --build-only ]; then build_only=true; fi
wif=$(realpath -m -- "$1")
python=${2:-python3}
helm4_version=v4.3.2
helm3_version=v3.21.4
tools="$root/target/tools"
tenant=33333333-0000-4000-8000-000000000003
env_tenant=44444444-0000-4000-8000-000000000004
client=11111111-0000-4000-8000-000000000001
failed=0
ok() { printf 'ok: %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAILED: %s\n' "$*"; }

# Builds helm MODULE at VERSION (once) and prints the binary's path.
build_helm() { # module version
  local module=$1 version=$2 dir="$tools/helm-$2" start=$SECONDS
  if [ -x "$dir/helm" ] && [ "$("$dir/helm" version --template '{{.Version}}' 2>/dev/null)" = "$version" ]; then
    echo "$dir/helm"
    return
  fi
  command -v go >/dev/null || { echo "Go (1.26 or newer) is needed to build helm $version from its module" >&2; return 1; }
  mkdir -p "$tools"
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  echo "building helm $version from $module (log: $dir.log)" >&2
  if ! GOBIN="$dir.partial" GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0 timeout 1200 \
    go install -trimpath -ldflags "-X $module/internal/version.version=$version" "$module/cmd/helm@$version" >"$dir.log" 2>&1; then
    tail -20 "$dir.log" >&2
    echo "building helm $version failed or took more than 20 minutes" >&2
    return 1
  fi
  rm -rf "$dir" && mv "$dir.partial" "$dir"
  echo "built helm $version in $((SECONDS - start)) s" >&2
  echo "$dir/helm"
}

helm4=$(build_helm helm.sh/helm/v4 "$helm4_version")
if $build_only; then echo "$helm4"; exit 0; fi
helm3=$(build_helm helm.sh/helm/v3 "$helm3_version")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wif-helm-post-renderer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The recipe: docs/webhook.md's lines that name the post-renderer, and --help's.
"$wif" render --help | sed -n '/^Examples:/,$p' | sed -n 's/^  \(helm .*post-renderer.*\)$/\1/p' > "$tmp/help-recipe"
grep -E '^helm .*post-renderer' docs/webhook.md > "$tmp/docs-recipe" || true
if [ ! -s "$tmp/help-recipe" ]; then
  fail "wif render --help shows no Helm post-renderer line"
elif diff -u "$tmp/docs-recipe" "$tmp/help-recipe" > "$tmp/recipe.diff"; then
  ok "wif render --help and docs/webhook.md show the same Helm post-renderer recipe ($(wc -l < "$tmp/help-recipe") lines)"
else
  fail "the Helm post-renderer recipe differs between docs/webhook.md (-) and wif render --help (+):"
  cat "$tmp/recipe.diff"
fi
grep -q '# Helm 3' "$tmp/help-recipe" || fail "the recipe has no line marked '# Helm 3'"
grep -q '^helm plugin install deploy/helm-post-renderer' "$tmp/help-recipe" || fail "the recipe does not install deploy/helm-post-renderer"

# Where the recipe runs: a chart at ./chart, deploy/ as in a checkout, wif and helm on PATH.
work="$tmp/work"
mkdir -p "$work/chart/templates" "$tmp/home" "$tmp/bin4" "$tmp/bin3"
ln -s "$root/deploy" "$work/deploy"
ln -s "$wif" "$tmp/bin4/wif" && ln -s "$wif" "$tmp/bin3/wif"
ln -s "$helm4" "$tmp/bin4/helm" && ln -s "$helm3" "$tmp/bin3/helm"
: > "$tmp/kubeconfig"
printf 'apiVersion: v2\nname: web\nversion: 0.1.0\n' > "$work/chart/Chart.yaml"
printf 'clientId: %s\n' "$client" > "$work/chart/values.yaml"
cat > "$work/chart/templates/workloads.yaml" <<'EOF'
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: {{ .Release.Namespace }}
  annotations:
    azure.workload.identity/client-id: {{ .Values.clientId | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-settings
  namespace: {{ .Release.Namespace }}
data:
  port: "8080"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: {{ .Release.Namespace }}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, azure.workload.identity/use: "true"}
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: example.com/web:1.0
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: plain
  namespace: {{ .Release.Namespace }}
spec:
  selector:
    matchLabels: {app: plain}
  template:
    metadata:
      labels: {app: plain}
    spec:
      serviceAccountName: web
      containers:
        - name: plain
          image: example.com/plain:1.0
EOF

# Runs a shell line as a user would, with helm MAJOR (4 or 3) first on PATH and that helm's own
# homes under $tmp (Helm 3 cannot read a Helm 4 plugin, and warns when it finds one). Helm 4's
# `plugin install DIR` links DIR into $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says, so
# HELM_PLUGINS is that directory. Extra NAME=VALUE words before the line set the environment.
run_line() { # major out err line [NAME=VALUE...]
  local major=$1 out=$2 err=$3 line=$4 home="$tmp/helm$1"
  shift 4
  (cd "$work" && env -u AZURE_TENANT_ID -u AZURE_CLIENT_ID \
    PATH="$tmp/bin$major:$PATH" HOME="$tmp/home" KUBECONFIG="$tmp/kubeconfig" \
    HELM_CONFIG_HOME="$home/config" HELM_CACHE_HOME="$home/cache" HELM_DATA_HOME="$home/data" \
    HELM_PLUGINS="$home/data/plugins" TENANT="$tenant" "$@" \
    bash -c "$line" > "$out" 2> "$err")
}

# Checks a rendered stream: MODE mutated (with the tenant TENANT) or untouched.
check_output() { # file mode [tenant]
  "$python" - "$@" <<'EOF'
import sys
import yaml

path, mode = sys.argv[1], sys.argv[2]
tenant = sys.argv[3] if len(sys.argv) > 3 else None
AUDIENCE = "api://AzureADTokenExchange"
docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
objects = {(d.get("kind"), d.get("metadata", {}).get("name")): d for d in docs}
problems = []
want = {("ServiceAccount", "web"), ("ConfigMap", "web-settings"), ("Deployment", "web"), ("Deployment", "plain")}
if set(objects) != want or len(docs) != len(want):
    problems.append(f"objects {sorted(map(str, objects))}, expected {sorted(map(str, want))}")


def identity(name):
    """The identity wiring of a Deployment's pod template: (env of its first container, token
    file's projected serviceAccountToken source or None)."""
    pod = objects.get(("Deployment", name), {}).get("spec", {}).get("template", {}).get("spec", {})
    container = (pod.get("containers") or [{}])[0]
    env = {e["name"]: e.get("value") for e in container.get("env") or []}
    token_file = env.get("AZURE_FEDERATED_TOKEN_FILE") or ""
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        prefix = mount["mountPath"].rstrip("/") + "/"
        for source in volumes.get(mount["name"], {}).get("projected", {}).get("sources") or []:
            token = source.get("serviceAccountToken")
            if token and token_file == prefix + token.get("path", ""):
                return env, token
    return env, None


client = objects.get(("ServiceAccount", "web"), {}).get("metadata", {}).get("annotations", {}).get(
    "azure.workload.identity/client-id")
env, token = identity("web")
if mode == "mutated":
    if env.get("AZURE_CLIENT_ID") != client or not client:
        problems.append(f"Deployment web: AZURE_CLIENT_ID {env.get('AZURE_CLIENT_ID')!r}, the ServiceAccount's client id is {client!r}")
    if env.get("AZURE_TENANT_ID") != tenant:
        problems.append(f"Deployment web: AZURE_TENANT_ID {env.get('AZURE_TENANT_ID')!r}, expected {tenant!r}")
    if not env.get("AZURE_AUTHORITY_HOST"):
        problems.append("Deployment web: no AZURE_AUTHORITY_HOST")
    if token is None:
        problems.append(f"Deployment web: AZURE_FEDERATED_TOKEN_FILE {env.get('AZURE_FEDERATED_TOKEN_FILE')!r} is on no projected serviceAccountToken volume")
    elif token.get("audience") != AUDIENCE:
        problems.append(f"Deployment web: the projected token's audience is {token.get('audience')!r}, not {AUDIENCE}")
elif any(k.startswith("AZURE_") for k in env) or token is not None:
    problems.append(f"Deployment web: mutated without the post-renderer: env {sorted(env)}")
plain_env, plain_token = identity("plain")
if any(k.startswith("AZURE_") for k in plain_env) or plain_token is not None:
    problems.append(f"Deployment plain (no label): mutated: env {sorted(plain_env)}")
for problem in problems:
    print(f"  {problem}")
sys.exit(1 if problems else 0)
EOF
}

# The recipe as written, in order: the plugin install, then each install line as helm template.
line_no=0
ran4=0
ran3=0
while IFS= read -r line; do
  line_no=$((line_no + 1))
  major=4
  [[ $line == *"# Helm 3"* ]] && major=3
  run=$line
  [[ $run == "helm install "* ]] && run="helm template ${run#helm install }"
  out="$tmp/recipe-$line_no.out" err="$tmp/recipe-$line_no.err"
  if ! run_line "$major" "$out" "$err" "$run"; then
    fail "Helm $major: $run"
    cat "$err"
    continue
  fi
  case $run in
    "helm plugin install "*)
      if run_line 4 "$tmp/plugins" "$tmp/plugins.err" "helm plugin list" && grep -qE '^wif-render[[:space:]].*postrenderer/v1' "$tmp/plugins"; then
        ok "Helm 4: $line (helm plugin list: wif-render, postrenderer/v1)"
      else
        fail "Helm 4: after '$line' helm plugin list shows no wif-render postrenderer/v1:"
        cat "$tmp/plugins" "$tmp/plugins.err"
      fi
      ;;
    "helm template "*)
      if check_output "$out" mutated "$tenant"; then
        ok "Helm $major ($([ "$major" = 4 ] && echo "$helm4_version" || echo "$helm3_version")): $line -> the labelled Deployment mutated, the rest passed through"
      else
        fail "Helm $major: $line (as helm template) did not mutate as the webhook would"
      fi
      [ "$major" = 4 ] && ran4=$((ran4 + 1)) || ran3=$((ran3 + 1))
      ;;
  esac
done < "$tmp/help-recipe"
[ "$ran4" -gt 0 ] || fail "no Helm 4 install line of the recipe ran"
[ "$ran3" -gt 0 ] || fail "no Helm 3 install line of the recipe ran"

# The checks can fail: the chart alone is not mutated.
if run_line 4 "$tmp/plain.out" "$tmp/plain.err" "helm template app ./chart" && check_output "$tmp/plain.out" untouched; then
  ok "Helm 4 without the post-renderer: nothing mutated (the check tells the difference)"
else
  fail "Helm 4 without the post-renderer: the chart alone came out mutated, or helm failed:"
  cat "$tmp/plain.err"
fi

# The tenant from Helm's environment, as docs/webhook.md says.
if run_line 4 "$tmp/env.out" "$tmp/env.err" "helm template app ./chart --post-renderer wif-render" AZURE_TENANT_ID="$env_tenant" \
  && check_output "$tmp/env.out" mutated "$env_tenant"; then
  ok "Helm 4: AZURE_TENANT_ID in Helm's environment is the tenant (no --post-renderer-args)"
else
  fail "Helm 4: AZURE_TENANT_ID in Helm's environment did not reach wif render:"
  cat "$tmp/env.err"
fi

# A refusal (no tenant anywhere) fails the run and prints no manifest; Helm 3 passes on wif's
# reason, Helm 4 drops the plugin's stderr (docs/webhook.md tells how to see it).
if run_line 4 "$tmp/refused4.out" "$tmp/refused4.err" "helm template app ./chart --post-renderer wif-render"; then
  fail "Helm 4: a run wif refuses (no tenant) exited 0"
elif [ -s "$tmp/refused4.out" ] || ! grep -q 'plugin "wif-render" exited with error' "$tmp/refused4.err"; then
  fail "Helm 4: a refused run printed manifests, or not what docs/webhook.md says (plugin \"wif-render\" exited with error):"
  cat "$tmp/refused4.err"
else
  ok "Helm 4: a run wif refuses fails with nothing printed; Helm says plugin \"wif-render\" exited with error"
fi
helm3_line=$(grep '# Helm 3' "$tmp/help-recipe" | head -1 | sed -e 's/ --post-renderer-args=--tenant-id=\$TENANT//' -e 's/^helm install /helm template /')
if run_line 3 "$tmp/refused3.out" "$tmp/refused3.err" "$helm3_line"; then
  fail "Helm 3: a run wif refuses (no tenant) exited 0: $helm3_line"
elif [ -s "$tmp/refused3.out" ] || ! grep -q 'a default tenant is required' "$tmp/refused3.err"; then
  fail "Helm 3: a refused run printed manifests, or not wif's reason:"
  cat "$tmp/refused3.err"
else
  ok "Helm 3: a run wif refuses fails with nothing printed and wif's reason on stderr"
fi

if [ "$failed" -ne 0 ]; then
  echo "check_helm_post_renderer: $failed check(s) failed"
  exit 1
fi
echo "check_helm_post_renderer: the recipe works as written with Helm $helm4_version and $helm3_version"
