# shellcheck shell=bash
# What scripts/control-plane and scripts/node share (sourced, test infrastructure only): the
# Kubernetes binaries' version ldflags, free loopback ports, processes started with their PIDs
# recorded, polling with a deadline, certificates from the run's CA, kubeconfigs.

# The ldflags Kubernetes' own build sets, so `/version` and kubelet report the release.
kube_ldflags() { # version
  local version=$1 minor ldflags="-s -w" pair key val
  minor=${version#v1.}; minor=${minor%%.*}
  for pair in "gitVersion=$version" "gitMajor=1" "gitMinor=$minor" \
              "gitTreeState=clean" "gitCommit=module-$version" "buildDate=1970-01-01T00:00:00Z"; do
    key=${pair%%=*}; val=${pair#*=}
    ldflags+=" -X k8s.io/component-base/version.$key=$val -X k8s.io/client-go/pkg/version.$key=$val"
  done
  printf '%s\n' "$ldflags"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts a process in a session of its own, its output in DIR/logs/NAME.log, its PID in DIR/pids.
start() { # dir name args...
  local dir=$1 name=$2; shift 2
  setsid "$@" >"$dir/logs/$name.log" 2>&1 < /dev/null &
  echo "$name $!" >> "$dir/pids"
}

# Runs the command until it succeeds, for at most DEADLINE seconds (each try is a cheap local check).
wait_for() { # deadline-seconds command...
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then return 1; fi
    sleep 0.2
  done
}

# A P-256 key and a certificate from CA_DIR/ca.{crt,key}: a server certificate with SAN, else a
# client certificate whose subject names the user (O= its groups).
issue_cert() { # out-dir ca-dir name subject [san]
  local out=$1 ca=$2 name=$3 subj=$4 san=${5:-}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subj" \
    -keyout "$out/$name.key" -out "$out/$name.csr" 2>/dev/null
  local ext="basicConstraints=CA:FALSE"$'\n'"keyUsage=digitalSignature,keyEncipherment"
  if [[ -n $san ]]; then ext+=$'\n'"extendedKeyUsage=serverAuth"$'\n'"subjectAltName=$san"
  else ext+=$'\n'"extendedKeyUsage=clientAuth"; fi
  openssl x509 -req -in "$out/$name.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf '%s\n' "$ext") -out "$out/$name.crt" 2>/dev/null
  rm -f "$out/$name.csr"
}

write_kubeconfig() { # file server ca cert key user
  cat > "$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: wif-e2e
  cluster:
    server: $2
    certificate-authority: $3
users:
- name: $6
  user:
    client-certificate: $4
    client-key: $5
contexts:
- name: wif-e2e
  context: {cluster: wif-e2e, user: $6}
current-context: wif-e2e
KUBECONFIG
}
