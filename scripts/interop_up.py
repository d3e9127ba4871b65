#!/usr/bin/env python3
"""`wif up` as a developer uses it: started with a state directory in its own process group,
its env file sourced by a shell in a clean environment, and apps nobody here wrote getting
tokens unchanged: Python azure-identity's DefaultAzureCredential and ManagedIdentityCredential
(through IDENTITY_ENDPOINT), Node @azure/identity's DefaultAzureCredential; again after the
token file was rotated. A second `wif up` on the same state is refused; a restart keeps the
ports and the CA; SIGINT to the process group closes every port within 10 s; a port another
program holds is an error naming it; the ready banner lists the token file; started with a
config, a second shell's `eval "$(wif up --print-env)"` gets that config's variables. Node
@azure/storage-blob with DefaultAzureCredential, given wif up's variables and its HTTPS_PROXY line
only, is refused an upload (403 AuthorizationPermissionMismatch) by a storage account made through
ARM until Storage Blob Data Contributor is assigned there, then writes, reads back and lists a
blob, and reads it again after a restart. Every client runs behind the loopback guard. Run by
scripts/test: argv[1] the wif binary, argv[2] the Node clients' node_modules. One line per check;
exit non-zero on failure."""
import json, os, select, shutil, signal, socket, subprocess, sys, tempfile, time, uuid

import interop_common as common

HERE = os.path.dirname(os.path.abspath(__file__))
GUARD = os.path.join(HERE, "loopback_guard")
WIF, NODE_MODULES = sys.argv[1], sys.argv[2]
PYTHON = sys.executable
check = common.check
TENANT = "aaaaaaaa-0000-4000-8000-00000000000a"
CLIENT = "11111111-0000-4000-8000-000000000001"
tmp = tempfile.mkdtemp(prefix="wif-up-")
state = os.path.join(tmp, "state")
guard_log = os.path.join(tmp, "left-loopback.log")
procs = []


def up(*extra, within=60):
    """Starts `wif up` in its own process group; returns it, the banner's ports (its first
    line's) and the banner's lines, up to the last: "Ctrl-C stops every server."."""
    proc = common.popen_logged([WIF, "up", "--state-dir", state, "--token-lifetime", "10s", *extra],
                               start_new_session=True)
    procs.append(proc)
    seen, deadline = b"", time.monotonic() + within
    while b"\nCtrl-C stops every server.\n" not in seen:
        ready, _, _ = select.select([proc.stdout], [], [], max(0, deadline - time.monotonic()))
        chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            break
        seen += chunk
    banner = seen.decode().splitlines()
    if not banner or "wif up: ready" not in banner[0] or banner[-1] != "Ctrl-C stops every server.":
        proc.kill()
        raise RuntimeError(f"wif up did not start: {seen.decode()!r} {common.log_of(proc)}")
    ports = sorted(int(p.split(":")[-1].rstrip("/,;")) for p in banner[0].split() if p.startswith(("https://127.0.0.1:", "http://127.0.0.1:")))
    return proc, ports, banner


def sourced(program):
    """Runs `program` (argv) from a shell that sourced the env file, in a clean environment."""
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "PYTHONPATH": GUARD, "LOOPBACK_GUARD_LOG": guard_log,
           "NODE_PATH": NODE_MODULES, "NO_PROXY": "127.0.0.1,localhost"}
    res = subprocess.run(["bash", "-c", 'set -a; . "$0"; exec "$@"', os.path.join(state, "env"), *program],
                         capture_output=True, text=True, env=env, timeout=120)
    return res.returncode, res.stdout.strip(), res.stderr.strip()


def proxied(program):
    """Runs `program` (argv) with wif up's variables only: the env file, then the HTTPS_PROXY and
    NO_PROXY line `wif up --print-az-setup` prints (the env file names no proxy, and the blob
    hosts have no DNS: only the emulator's CONNECT front reaches them). Besides those, the
    harness's own: PATH, HOME, NODE_PATH and the loopback guard's."""
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "PYTHONPATH": GUARD, "LOOPBACK_GUARD_LOG": guard_log,
           "NODE_PATH": NODE_MODULES}
    script = ('set -a; . "$0"; set +a; setup=$("$1" up --state-dir "$2" --print-az-setup) || exit 1; '
              'line=$(printf "%s\\n" "$setup" | grep "^export HTTPS_PROXY=") || exit 1; eval "$line"; shift 2; exec "$@"')
    res = subprocess.run(["bash", "-c", script, os.path.join(state, "env"), WIF, state, *program],
                         capture_output=True, text=True, env=env, timeout=120)
    return res.returncode, res.stdout.strip(), res.stderr.strip()


def node_storage(*args):
    """scripts/interop_up_storage.cjs ARGS under `proxied`: its JSON line, or what went wrong."""
    code, out, err = proxied(["node", "--require", os.path.join(GUARD, "guard.cjs"),
                              os.path.join(HERE, "interop_up_storage.cjs"), *args])
    try:
        return json.loads(out.splitlines()[-1])
    except Exception as e:  # noqa: BLE001  (the check prints it)
        return {"ok": False, "exit": code, "error": repr(e), "stdout": out[-600:], "stderr": err[-600:]}


PY_ARM = ("import logging; logging.getLogger('azure').setLevel(logging.CRITICAL)\n"
          "from azure.identity import DefaultAzureCredential\n"
          "print(DefaultAzureCredential().get_token('https://management.azure.com/.default').token)")
ACCOUNT, CONTAINER, BLOB = "stwifupnode", "reports", "from-node/today.bin"
BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
# What interop_up_storage.cjs writes: its first line, then every byte value.
BLOB_SIZE = len(b"wif up, Node @azure/storage-blob\n") + 256


def storage_through_arm():
    """Node @azure/storage-blob at an account made through ARM: refused an upload before
    Storage Blob Data Contributor is assigned to its identity at the account, served after."""
    import requests
    arm = f"https://127.0.0.1:{json.load(open(os.path.join(state, 'state.json')))['stsPort']}"
    code, out, err = sourced([PYTHON, "-c", PY_ARM])
    token = out.splitlines()[-1] if code == 0 and out else ""
    check("Python DefaultAzureCredential gets an ARM token under wif up's variables", token.count(".") == 2, err[-400:])
    if token.count(".") != 2:
        return
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    http.trust_env = False  # this process's environment is not wif up's: the local CA, no proxy
    http.verify = os.path.join(state, "ca.pem")
    subs = http.get(f"{arm}/subscriptions?api-version=2022-12-01", timeout=30)
    sub = subs.json()["value"][0]["subscriptionId"] if subs.ok and subs.json().get("value") else None
    check("ARM lists the local subscription", sub is not None, (subs.status_code, subs.text[:400]))
    scope = f"/subscriptions/{sub}/resourceGroups/wif-local/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
    made = http.put(f"{arm}{scope}?api-version=2024-01-01", timeout=30,
                    json={"location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}})
    blob_endpoint = made.json().get("properties", {}).get("primaryEndpoints", {}).get("blob") if made.ok else None
    check(f"ARM makes storage account {ACCOUNT} in group wif-local, blob endpoint https://{ACCOUNT}.blob.storage.wif.test/",
          made.status_code in (200, 201, 202) and blob_endpoint == f"https://{ACCOUNT}.blob.storage.wif.test/",
          (made.status_code, made.text[:400]))

    got = node_storage("refused", ACCOUNT, CONTAINER, BLOB)
    refusal = got.get("refusal") or {}
    # The app is the subscription's Owner (callerRole): actions, so the container, but no data action.
    check("Node BlobServiceClient + DefaultAzureCredential before any data role: its upload is refused, "
          "RestError statusCode 403, code AuthorizationPermissionMismatch",
          got.get("ok") and (refusal.get("statusCode"), refusal.get("code")) == (403, "AuthorizationPermissionMismatch"), got)

    oid = claims(token).get("oid")
    assignment = f"{arm}{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}?api-version=2022-04-01"
    assigned = http.put(assignment, timeout=30, json={"properties": {
        "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{BLOB_CONTRIBUTOR}",
        "principalId": oid, "principalType": "ServicePrincipal"}})
    check(f"ARM assigns Storage Blob Data Contributor at {ACCOUNT} to the app's object id ({oid})",
          assigned.status_code == 201, (assigned.status_code, assigned.text[:400]))

    got = node_storage("roundtrip", ACCOUNT, CONTAINER, BLOB)
    check("then Node @azure/storage-blob, unchanged: createIfNotExists, uploads, downloads the same bytes, lists it",
          got.get("ok") and got.get("sameBytes") and got.get("size") == BLOB_SIZE and got.get("blobType") == "BlockBlob"
          and got.get("listed") == [{"name": BLOB, "size": BLOB_SIZE}], got)


PY_DAC = ("import logging, sys; logging.getLogger('azure').setLevel(logging.CRITICAL)\n"
          "from azure.identity import DefaultAzureCredential\n"
          "print(DefaultAzureCredential().get_token('https://vault.azure.net/.default').token)")
# ManagedIdentityCredential turns to workload identity when the token file is set: unset it to
# go through the proxy's App Service endpoint.
PY_MI = ("import logging, os; logging.getLogger('azure').setLevel(logging.CRITICAL)\n"
         "os.environ.pop('AZURE_FEDERATED_TOKEN_FILE')\n"
         "from azure.identity import ManagedIdentityCredential\n"
         "print(ManagedIdentityCredential().get_token('https://vault.azure.net/.default').token)")


def claims(token):
    import base64
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def token_check(name, result):
    code, out, err = result
    try:
        token = out.splitlines()[-1]
        if token.startswith("{"):
            token = json.loads(token)["token"]
        got = claims(token)
        check(name, code == 0 and (got["tid"], got["appid"]) == (TENANT, CLIENT), got)
    except Exception as e:
        check(name, False, f"{e!r}: {out} {err}")


def node_dac():
    code, out, err = sourced(["node", "--require", os.path.join(GUARD, "guard.cjs"), os.path.join(HERE, "interop_proxy_node.cjs"),
                              "dac", "https://vault.azure.net/.default"])
    ok = out and json.loads(out.splitlines()[-1]).get("ok")
    return (0 if ok else 1, out, err)


def closed(ports):
    for port in ports:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


try:
    proc, ports, banner = up()
    check("wif up starts with three servers on loopback", len(ports) == 3, ports)
    ca_before = open(os.path.join(state, "ca.pem")).read()
    token_file = os.path.join(state, "tokens", "default", "default")
    check("the ready banner lists the token file", f"  default/default: {token_file}" in banner, banner)
    first = open(token_file).read()
    token_check("Python DefaultAzureCredential, unchanged, after sourcing the env file", sourced([PYTHON, "-c", PY_DAC]))
    token_check("Node DefaultAzureCredential, unchanged", node_dac())
    token_check("Python ManagedIdentityCredential through IDENTITY_ENDPOINT (the proxy)", sourced([PYTHON, "-c", PY_MI]))
    printed = subprocess.run([WIF, "up", "--state-dir", state, "--print-env"], capture_output=True, text=True)
    check("--print-env prints the env file's lines", printed.stdout == open(os.path.join(state, "env")).read(), printed.stdout)
    storage_through_arm()

    # kubelet-style rotation at 80% of the lifetime (8 s of 10): wait for the file to change.
    deadline = time.monotonic() + 30
    while open(token_file).read() == first and time.monotonic() < deadline:
        time.sleep(0.2)
    rotated = open(token_file).read()
    check("the token file is rewritten, whole, before the token expires", rotated != first and rotated.count(".") == 2)
    token_check("Python DefaultAzureCredential after the rotation", sourced([PYTHON, "-c", PY_DAC]))
    token_check("Node DefaultAzureCredential after the rotation", node_dac())

    second = subprocess.run([WIF, "up", "--state-dir", state], capture_output=True, text=True, timeout=30)
    check("a second wif up on the same state directory says so", second.returncode != 0 and "already runs" in second.stderr, second.stderr)

    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=15)
    check("SIGTERM stops wif up with exit 0", code == 0, code)
    proc, again, _ = up()
    check("a restart keeps the ports", again == ports, (ports, again))
    check("a restart keeps the CA", open(os.path.join(state, "ca.pem")).read() == ca_before)
    token_check("Python DefaultAzureCredential after the restart", sourced([PYTHON, "-c", PY_DAC]))
    got = node_storage("read", ACCOUNT, CONTAINER, BLOB)
    check("after the restart, Node @azure/storage-blob reads the same blob back and lists it",
          got.get("ok") and got.get("sameBytes") and got.get("listed") == [{"name": BLOB, "size": BLOB_SIZE}], got)

    os.killpg(proc.pid, signal.SIGINT)
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        code = None
    check("SIGINT to the process group stops it within 10 s, exit 0", code == 0, code)
    check("every port is closed after it stopped", closed(ports), ports)

    with socket.socket() as blocker:
        # The port may still hold connections in TIME_WAIT from the run that just stopped.
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", ports[0]))
        blocker.listen()
        taken = subprocess.run([WIF, "up", "--state-dir", state], capture_output=True, text=True, timeout=30)
    check("a port taken by another program is a clear error naming it", taken.returncode != 0
          and f"127.0.0.1:{ports[0]}" in taken.stderr and "cannot be bound" in taken.stderr, taken.stderr)
    vault_proxy = json.load(open(os.path.join(state, "state.json")))["vaultProxyPort"]
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", vault_proxy))
        blocker.listen()
        taken = subprocess.run([WIF, "up", "--state-dir", state], capture_output=True, text=True, timeout=30)
    check("a taken vault proxy port is named as the vault proxy's, not the emulator's", taken.returncode != 0
          and f"the vault CONNECT proxy's port 127.0.0.1:{vault_proxy}" in taken.stderr, taken.stderr)

    # The storage checks changed the local Azure plane, so its state file now exists, and a start
    # reads it in place of any config (docs/up.md: remove it to start again from the config).
    if os.path.exists(os.path.join(state, "azure-state.yaml")):
        os.remove(os.path.join(state, "azure-state.yaml"))
    shutil.rmtree(os.path.join(state, "azure-state.yaml.blobs"), ignore_errors=True)

    # Started with a config, a second shell's `eval "$(wif up --print-env)"` (no --config) gets
    # that config's variables: its ServiceAccount's token file, not default/default's (issue 36).
    config = os.path.join(tmp, "wif.yaml")
    with open(config, "w") as f:
        f.write(f"tenants:\n- tenantId: {TENANT}\n  applications: [{{displayName: api, appId: {CLIENT}}}]\n"
                f"serviceAccounts:\n- {{namespace: payments, name: api, clientId: {CLIENT}}}\n")
    proc, _, _ = up("--config", config)
    evaluated = f'eval "$({WIF} up --state-dir {state} --print-env)"; exec "$@"'
    res = subprocess.run(["bash", "-c", evaluated, "second-shell", PYTHON, "-c", PY_DAC], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "HOME": tmp, "PYTHONPATH": GUARD, "LOOPBACK_GUARD_LOG": guard_log},
                         timeout=120)
    token_check("started with --config, eval \"$(wif up --print-env)\" in a second shell: DefaultAzureCredential",
                (res.returncode, res.stdout.strip(), res.stderr.strip()))
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=15)

    left = open(guard_log).read() if os.path.exists(guard_log) else ""
    check("no client tried to leave loopback", left == "", left)
finally:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    shutil.rmtree(tmp, ignore_errors=True)

print(f"interop_up: {common.failures} failure(s)")
sys.exit(1 if common.failures else 0)
