#!/usr/bin/env python3
"""`wif up --production-names`: apps and azure-cli with their production settings, unchanged,
on a machine that cannot reach Azure. The whole run is in a network namespace of its own with
loopback only, so a client that tried to reach login.microsoftonline.com or any other outside
host itself (not through wif up's CONNECT front) fails, and every Python and Node client also
runs behind the loopback guard. With only the variables wif up prints:
- azure-cli keeps its own AzureCloud (no `az cloud register`, no discovery switch), logs in with
  the federated token and runs the seed's tutorials as written: workload-identity.sh,
  keyvault.sh (the vault is https://keyvault-wif-tuto.vault.azure.net/), storage.sh (the blob
  endpoint is https://stwiftuto.blob.core.windows.net/), blob commands with --auth-mode login;
- Python azure-identity's DefaultAzureCredential with SecretClient (challenge verification on):
  403 ForbiddenByRbac before the assignment, the value after it; tokens name
  login.microsoftonline.com or sts.windows.net; BlobClient reads what azure-cli wrote, and is
  refused a write with the Reader role;
- Node @azure/identity with @azure/keyvault-secrets, the Azure SDK for Go's
  NewDefaultAzureCredential with instance discovery left on, and Java's DefaultAzureCredential
  (MSAL4J, instance discovery on) and SecretClient read the same secret;
- a host outside wif up's list is refused at the front (403, naming the list), an alias of
  Entra's that wif up does not serve too, and the guard's log stays empty.
argv: wif, az, the Go client (scripts/go-client), the Node clients' node_modules and the Java
client (scripts/java-client). Re-runs itself under `unshare --net` (root).
One line per check; exit non-zero on failure."""
import base64, json, os, select, signal, socket, subprocess, sys, tempfile

# A network namespace with loopback alone, made before anything starts.
if os.environ.get("WIF_AZURE_NAMES_NETNS") != "1":
    os.environ["WIF_AZURE_NAMES_NETNS"] = "1"
    script = 'ip link set lo up && exec "$0" "$@"'
    os.execvp("unshare", ["unshare", "--net", "--", "sh", "-c", script, sys.executable, os.path.abspath(__file__),
                          *sys.argv[1:]])

import interop_common as common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GUARD = os.path.join(HERE, "loopback_guard")
TUTORIALS = os.path.join(HERE, "tutorials")
WIF, AZ, GO_CLIENT, NODE_MODULES, JAVA_CLIENT = (os.path.abspath(a) for a in sys.argv[1:6])
PYTHON = sys.executable
check = common.check
TENANT = "aaaaaaaa-0000-4000-8000-00000000000a"
APP = "11111111-0000-4000-8000-000000000001"
tmp = tempfile.mkdtemp(prefix="wif-azure-names-")
state = os.path.join(tmp, "state")
config = os.path.join(tmp, "up.yaml")
guard_log = os.path.join(tmp, "left-loopback.log")
with open(config, "w") as f:
    f.write(f"""tenants:
- tenantId: {TENANT}
  domain: local.onmicrosoft.com
  applications:
  - {{displayName: tutorial-admin, appId: {APP}, graphAppRoles: [Application.Read.All]}}
serviceAccounts:
- {{namespace: default, name: default, clientId: {APP}}}
- {{namespace: default, name: workload-identity-sa}}
""")

links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
check("the run's network namespace has loopback only", [l.split(":")[1].strip() for l in links] == ["lo"], links)


def up():
    """Starts `wif up --production-names` in its own process group; its banner."""
    log = open(os.path.join(tmp, "wif-up.log"), "a")
    proc = subprocess.Popen([WIF, "up", "--state-dir", state, "--config", config, "--production-names"],
                            stdout=subprocess.PIPE, stderr=log, start_new_session=True)
    seen = b""
    while b"Ctrl-C" not in seen:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            proc.kill()
            raise RuntimeError(f"wif up did not start: {seen!r}; see {log.name}")
        seen += chunk
    return proc, seen.decode()


def printed(*flags):
    """What another shell's `wif up --state-dir S FLAGS` prints (no --production-names)."""
    return subprocess.run([WIF, "up", "--state-dir", state, *flags], capture_output=True, text=True, check=True).stdout


def env_of(text):
    """The variables of `export NAME='value'` lines."""
    pairs = (l[len("export "):].split("=", 1) for l in text.splitlines() if l.startswith("export "))
    return {k: v[1:-1].replace("'\\''", "'") if v.startswith("'") else v for k, v in pairs}


BASE = {"PATH": os.path.dirname(AZ) + ":" + os.environ["PATH"], "HOME": tmp, "PYTHONPATH": GUARD,
        "LOOPBACK_GUARD_LOG": guard_log, "NODE_PATH": NODE_MODULES}


def shell(script, **extra):
    """`script` in bash after the printed azure-cli lines, which are the only setup."""
    setup = printed("--print-az-setup")
    # The lines as pasted (az login prints the subscriptions: not this script's output).
    res = subprocess.run(["bash", "-c", f"set -euo pipefail\n{{\n{setup}}} >/dev/null\ncd {tmp}\n{script}"], capture_output=True,
                         text=True, env=dict(BASE, **{k: str(v) for k, v in extra.items()}), timeout=600)
    return res.returncode, res.stdout.strip(), res.stderr.strip()


def az(*args):
    return shell(" ".join(["az", *(f"'{a}'" for a in args)]))


def as_app(env, program):
    """`program` with exactly the app's variables (and the guard); its last line as JSON."""
    res = subprocess.run(program, capture_output=True, text=True, env=dict(BASE, **env), timeout=180)
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"failed": (res.stdout + res.stderr)[-700:]}


PYTHON_APP = r"""
import json, logging, sys
logging.getLogger("azure").setLevel(logging.CRITICAL)
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
what = sys.argv[1]
credential = DefaultAzureCredential()
try:
    if what == "token":
        print(json.dumps({"token": credential.get_token(sys.argv[2]).token}))
    elif what == "secret":
        from azure.keyvault.secrets import SecretClient
        print(json.dumps({"value": SecretClient(sys.argv[2], credential).get_secret(sys.argv[3]).value}))
    else:
        from azure.storage.blob import BlobClient
        blob = BlobClient(sys.argv[2], sys.argv[3], sys.argv[4], credential=credential)
        if what == "read":
            print(json.dumps({"value": blob.download_blob().readall().decode()}))
        else:
            blob.upload_blob(b"denied", overwrite=True)
            print(json.dumps({"written": True}))
except HttpResponseError as e:
    print(json.dumps({"status": e.status_code, "code": getattr(e, "error_code", None), "text": str(e)}))
except Exception as e:
    print(json.dumps({"failed": type(e).__name__, "text": str(e)[:600]}))
"""


def claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def connect(host):
    """A raw `CONNECT host:443` to the front: its status line and text."""
    with socket.create_connection(("127.0.0.1", front_port), timeout=10) as s:
        s.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    return answer.decode(errors="replace")


proc, banner = up()
lines = banner.splitlines()
with open(os.path.join(state, "env")) as f:
    env_file = f.read()
check("the ready banner's second line says it answers as Azure, never Azure itself",
      lines[0].startswith("wif up: ready.") and lines[1].startswith("ANSWERING AS AZURE (--production-names)")
      and "never to Azure" in lines[1], lines[:2])
check("the env file starts with the same warning", env_file.startswith("# wif up --production-names: "), env_file[:200])
app_env = env_of(env_file)
check("another shell's --print-env follows the running wif up (no flag needed)", env_of(printed("--print-env")) == app_env,
      app_env)
check("the variables: Entra's own authority host, HTTPS_PROXY, the JVM's trust store",
      app_env.get("AZURE_AUTHORITY_HOST") == "https://login.microsoftonline.com/"
      and app_env.get("HTTPS_PROXY", "").startswith("http://127.0.0.1:")
      and "-Djavax.net.ssl.trustStore=" in app_env.get("JAVA_TOOL_OPTIONS", ""), app_env)
check("only wif up's CA is trusted (a client ignoring HTTPS_PROXY fails closed): Python, Go, az, Node",
      app_env.get("REQUESTS_CA_BUNDLE") == app_env.get("SSL_CERT_FILE") == os.path.join(state, "ca.pem")
      and app_env.get("NODE_OPTIONS") == "--use-openssl-ca", app_env)
front_port = int(app_env["HTTPS_PROXY"].rsplit(":", 1)[1])

# azure-cli with its own AzureCloud.
rc, out, err = shell("az cloud show --query name --output tsv")
check("azure-cli's cloud is AzureCloud, nothing registered", rc == 0 and out == "AzureCloud", (out, err))
rc, out, err = az("account", "show", "--query", "[tenantId, user.name, environmentName]", "-o", "tsv")
check("az login --federated-token (the printed lines): the tenant, the app, AzureCloud",
      rc == 0 and out.split() == [TENANT, APP, "AzureCloud"], (out, err))
rc, out, err = shell(f"bash {TUTORIALS}/workload-identity.sh", MANIFEST=os.path.join(tmp, "workload.yaml"))
client_id = out.split("client id ")[1].split(",")[0] if "client id " in out else ""
check("workload-identity.sh as written (group, identity, az aks show, federated credential)", rc == 0 and client_id,
      (out, err))
rc, vault_uri, err = shell(f"bash {TUTORIALS}/keyvault.sh", GRANT_WORKLOAD=0)
vault_uri = vault_uri.splitlines()[-1] if vault_uri else ""
check("keyvault.sh as written: the vault is https://keyvault-wif-tuto.vault.azure.net/",
      rc == 0 and vault_uri == "https://keyvault-wif-tuto.vault.azure.net/", (vault_uri, err))

# The workload: the account's printed variables and the identity's client id, as the webhook gives them.
workload = env_of(printed("--print-env", "--service-account", "default/workload-identity-sa"))
workload["AZURE_CLIENT_ID"] = client_id
got = as_app(workload, [PYTHON, "-c", PYTHON_APP, "token", "https://vault.azure.net/.default"])
issuer = claims(got["token"]).get("iss") if "token" in got else got
check("Python DefaultAzureCredential: a token whose issuer is Entra's public one",
      issuer in (f"https://sts.windows.net/{TENANT}/", f"https://login.microsoftonline.com/{TENANT}/v2.0"), issuer)


def java_secret(vault, name):
    """The Java client's secret mode with the workload's printed variables; its own guard needs
    its loopback hosts file, nothing else is added."""
    hosts = os.path.join(os.path.dirname(JAVA_CLIENT), "loopback-hosts")
    return subprocess.run(["java", f"-Djdk.net.hosts.file={hosts}", "-jar", JAVA_CLIENT, "secret", vault, name],
                          capture_output=True, text=True, env=dict(BASE, **workload), timeout=180)


got = as_app(workload, [PYTHON, "-c", PYTHON_APP, "secret", vault_uri, "wid-tuto-password"])
check("Python SecretClient before the assignment: 403 ForbiddenByRbac",
      got.get("status") == 403 and "ForbiddenByRbac" in got.get("text", ""), got)
res = java_secret(vault_uri, "wid-tuto-password")
check("Java SecretClient before the assignment: 403 ForbiddenByRbac (ResourceModifiedException)",
      res.returncode == 3 and "status=403 error_code=Forbidden inner_error_code=ForbiddenByRbac" in res.stderr,
      (res.stdout + res.stderr)[-1500:])
rc, _, err = shell(f"bash {TUTORIALS}/keyvault.sh", GRANT_WORKLOAD=1)
check("keyvault.sh again, granting Key Vault Secrets User", rc == 0, err)
got = as_app(workload, [PYTHON, "-c", PYTHON_APP, "secret", vault_uri, "wid-tuto-password"])
check("Python SecretClient reads the secret (challenge verification on)", got == {"value": "Hello!"}, got)
got = as_app(workload, ["node", "--require", os.path.join(GUARD, "guard.cjs"),
                        os.path.join(HERE, "interop_azure_names.cjs"), vault_uri, "wid-tuto-password"])
check("Node DefaultAzureCredential and SecretClient read it", got == {"value": "Hello!"}, got)
got = as_app(workload, [GO_CLIENT, "production", "https://vault.azure.net/.default", vault_uri, "wid-tuto-password"])
check("Go NewDefaultAzureCredential (instance discovery on) and azsecrets read it", got == {"value": "Hello!"}, got)
res = java_secret(vault_uri, "wid-tuto-password")
check("Java DefaultAzureCredential and SecretClient read it (instance discovery on, JAVA_TOOL_OPTIONS as printed)",
      res.returncode == 0 and res.stdout.strip().splitlines()[-1:] == ["secret Hello!"], (res.stdout + res.stderr)[-1500:])

# Storage under its public suffix: azure-cli writes, the workload (Reader) reads and is refused a write.
rc, endpoint, err = shell(f"bash {TUTORIALS}/storage.sh")
endpoint = endpoint.splitlines()[-1] if endpoint else ""
check("storage.sh as written: the blob endpoint is https://stwiftuto.blob.core.windows.net/",
      rc == 0 and endpoint == "https://stwiftuto.blob.core.windows.net/", (endpoint, err))
report = os.path.join(tmp, "report.csv")
with open(report, "w") as f:
    f.write("id,total\n1,42\n")
rc, out, err = shell(
    'scope=$(az storage account show -n stwiftuto -g myResourceGroup --query id -o tsv)\n'
    f'az role assignment create --assignee {APP} --role "Storage Blob Data Contributor" --scope "$scope" -o none')
check("az role assignment create: Storage Blob Data Contributor at the account", rc == 0, err)
downloaded = os.path.join(tmp, "report.downloaded.csv")
rc, out, err = shell(f"bash {TUTORIALS}/storage_blobs.sh", UPLOAD_FILE=report, DOWNLOAD_FILE=downloaded)
check("storage_blobs.sh as written, at stwiftuto.blob.core.windows.net: container created, report.csv uploaded and listed",
      rc == 0 and out.splitlines() == ["true", "report.csv"], (rc, out, err))
check("az storage blob download gives the same bytes",
      os.path.exists(downloaded) and open(downloaded).read() == "id,total\n1,42\n", os.path.exists(downloaded))
got = as_app(workload, [PYTHON, "-c", PYTHON_APP, "read", endpoint, "input", "report.csv"])
check("Python BlobClient (Storage Blob Data Reader) reads what azure-cli wrote", got == {"value": "id,total\n1,42\n"}, got)
got = as_app(workload, [PYTHON, "-c", PYTHON_APP, "write", endpoint, "input", "denied.txt"])
check("and is refused a write: 403 AuthorizationPermissionMismatch",
      (got.get("status"), got.get("code")) == (403, "AuthorizationPermissionMismatch"), got)

# Everything else is refused at the front, at once; nothing left the namespace.
answer = connect("example.com")
check("CONNECT to a host outside the list: 403, naming what the front serves",
      answer.startswith("HTTP/1.1 403") and "login.microsoftonline.com, management.azure.com, graph.microsoft.com" in answer,
      answer)
answer = connect("login.windows.net")
check("an alias of Entra's that wif up does not serve is refused too", answer.startswith("HTTP/1.1 403"), answer)
code = "import requests, sys\ntry:\n    requests.get('https://www.bing.com/', timeout=10)\nexcept Exception as e:\n    print(repr(e))\n"
res = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=dict(BASE, **app_env), timeout=60)
check("requests with the variables, to another host: refused by the front (403), not sent",
      "ProxyError" in res.stdout and "403" in res.stdout, res.stdout + res.stderr)
left = open(guard_log).read() if os.path.exists(guard_log) else ""
check("no client tried to leave loopback (the guard's log is empty)", left == "", left)

os.killpg(proc.pid, signal.SIGINT)
proc.communicate(timeout=30)

# Back to its own names on the same state: the CA apps trust stays; the printing flags follow.
with open(os.path.join(state, "ca.pem")) as f:
    ca_before = f.read()
log = open(os.path.join(tmp, "wif-up.log"), "a")
local = subprocess.Popen([WIF, "up", "--state-dir", state, "--config", config], stdout=subprocess.PIPE, stderr=log,
                         start_new_session=True)
first = local.stdout.readline().decode()
with open(os.path.join(state, "ca.pem")) as f, open(os.path.join(state, "tls", "names")) as names:
    listed = names.read().split()
    check("restarted without --production-names: ready, with a new CA whose certificate names none of Azure's hosts",
          first.startswith("wif up: ready.") and f.read() != ca_before
          and not [n for n in listed if "microsoftonline" in n or "azure" in n or "windows.net" in n], (first, listed))
local_env = env_of(printed("--print-env"))
check("its variables are the local ones (its own authority host, no HTTPS_PROXY)",
      local_env.get("AZURE_AUTHORITY_HOST", "").startswith("https://127.0.0.1:") and "HTTPS_PROXY" not in local_env, local_env)
res = subprocess.run([WIF, "up", "--state-dir", state, "--print-env", "--production-names"], capture_output=True, text=True)
check("--print-env --production-names for an instance on its own names is refused, saying why",
      res.returncode != 0 and "answers by its own names (it started without --production-names)" in res.stderr, res.stderr)
os.killpg(local.pid, signal.SIGINT)
local.communicate(timeout=30)
print(f"interop_azure_names: {common.failures} failure(s)")
sys.exit(1 if common.failures else 0)
