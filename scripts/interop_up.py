#!/usr/bin/env python3
"""`wif up` as a developer uses it: started with a state directory in its own process group,
its env file sourced by a shell in a clean environment, and apps nobody here wrote getting
tokens unchanged: Python azure-identity's DefaultAzureCredential and ManagedIdentityCredential
(through IDENTITY_ENDPOINT), Node @azure/identity's DefaultAzureCredential; again after the
token file was rotated. A second `wif up` on the same state is refused; a restart keeps the
ports and the CA; SIGINT to the process group closes every port within 10 s; a port another
program holds is an error naming it; the ready banner lists the token file; started with a
config, a second shell's `eval "$(wif up --print-env)"` gets that config's variables. Every
client runs behind the loopback guard. Run by scripts/test: argv[1] the wif binary, argv[2] the
Node clients' node_modules. One line per check; exit non-zero on failure."""
import json, os, select, shutil, signal, socket, subprocess, sys, tempfile, time

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
    proc = subprocess.Popen([WIF, "up", "--state-dir", state, "--token-lifetime", "10s", *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
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
        raise RuntimeError(f"wif up did not start: {seen.decode()!r} {proc.stderr.read().decode()}")
    ports = sorted(int(p.split(":")[-1].rstrip("/,;")) for p in banner[0].split() if p.startswith(("https://127.0.0.1:", "http://127.0.0.1:")))
    return proc, ports, banner


def sourced(program):
    """Runs `program` (argv) from a shell that sourced the env file, in a clean environment."""
    env = {"PATH": os.environ["PATH"], "HOME": tmp, "PYTHONPATH": GUARD, "LOOPBACK_GUARD_LOG": guard_log,
           "NODE_PATH": NODE_MODULES, "NO_PROXY": "127.0.0.1,localhost"}
    res = subprocess.run(["bash", "-c", 'set -a; . "$0"; exec "$@"', os.path.join(state, "env"), *program],
                         capture_output=True, text=True, env=env, timeout=120)
    return res.returncode, res.stdout.strip(), res.stderr.strip()


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
