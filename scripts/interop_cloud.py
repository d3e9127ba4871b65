#!/usr/bin/env python3
"""The seeds' tutorials on `wif up`'s local Azure plane, with clients nobody here wrote:
azure-cli 2.91 registers the emulator as a custom cloud with one flag, logs in with a federated
token, and runs scripts/tutorials/workload-identity.sh (group, identity, federated credential,
`az aks show` for the issuer, role assignment) twice; `wif render` mutates the seed's
ServiceAccount and Deployment, and a process with exactly that env gets a token for the new
identity. scripts/tutorials/keyvault.sh makes a vault and a secret; Python's SecretClient with
WorkloadIdentityCredential (challenge verification on, through the CONNECT proxy) gets 403
ForbiddenByRbac, then the value once "Key Vault Secrets User" is assigned; a second identity
without an assignment is refused; the Azure SDK for Go's azsecrets Client (challenge
verification on) sees the same. scripts/tutorials/storage.sh makes a storage account with
shared keys off and assigns the identity "Storage Blob Data Reader" at it; azure-cli shows and
lists it with the local blob endpoint, is refused a second account of the same name elsewhere
(names are global) and the account's keys, and deletes one. scripts/tutorials/storage_blobs.sh runs
seed 003's blob commands (`--auth-mode login`, https://stwiftuto.blob.storage.wif.test through
the CONNECT front) as workload identities signed in with `az login --federated-token`: refused
(AuthorizationPermissionMismatch) before a data role; with "Storage Blob Data Contributor" at
the account a container, an upload, the listing, the same bytes back, BlobAlreadyExists without
--overwrite, a delete and BlobNotFound; with "Storage Blob Data Reader" only (the seed's identity,
and the other once `az role assignment delete` took its Contributor) reads and no writes. The
state, blobs included, survives a restart.
Then bad input to every new endpoint; the group's delete takes its accounts. Every client runs behind the loopback guard (Go's: a dialer that refuses anything but
loopback). argv[1]: wif; argv[2]: az; argv[3]: the Go client (scripts/go-client)."""
import json, os, select, signal, socket, subprocess, sys, tempfile

import interop_common as common

HERE = os.path.dirname(os.path.abspath(__file__))
GUARD = os.path.join(HERE, "loopback_guard")
TUTORIALS = os.path.join(HERE, "tutorials")
WIF, AZ, GO_CLIENT = (os.path.abspath(a) for a in sys.argv[1:4])
PYTHON = sys.executable
check = common.check
TENANT = "aaaaaaaa-0000-4000-8000-00000000000a"
APP = "11111111-0000-4000-8000-000000000001"
tmp = tempfile.mkdtemp(prefix="wif-cloud-")
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
- {{namespace: default, name: other-sa}}
""")


def up():
    """Starts `wif up` in its own process group and waits (bounded) for its last banner line."""
    # Its log goes to a file: a pipe nobody reads would fill and stall it.
    log = open(os.path.join(tmp, "wif-up.log"), "a")
    proc = subprocess.Popen([WIF, "up", "--state-dir", state, "--config", config], stdout=subprocess.PIPE,
                            stderr=log, start_new_session=True)
    seen = b""
    while b"Ctrl-C" not in seen:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            proc.kill()
            raise RuntimeError(f"wif up did not start: {seen!r}; see {log.name}")
        seen += chunk
    return proc, seen.decode()


def down(proc):
    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=30)


def printed(flag):
    return subprocess.run([WIF, "up", "--state-dir", state, "--config", config, flag], capture_output=True,
                          text=True, check=True).stdout


BASE_ENV = {"PATH": os.path.dirname(AZ) + ":" + os.environ["PATH"], "HOME": tmp, "PYTHONPATH": GUARD,
            "LOOPBACK_GUARD_LOG": guard_log}


def shell(script, **extra):
    """Runs `script` in bash with the az setup's exports evaluated; (rc, stdout, stderr)."""
    exports = "\n".join(l for l in printed("--print-az-setup").splitlines() if l.startswith("export "))
    env = dict(BASE_ENV, **{k: str(v) for k, v in extra.items()})
    res = subprocess.run(["bash", "-c", f"set -euo pipefail\n{exports}\ncd {tmp}\n{script}"], capture_output=True,
                         text=True, env=env, timeout=600)
    return res.returncode, res.stdout.strip(), res.stderr.strip()


def az(*args):
    return shell(" ".join(["az", *(f"'{a}'" for a in args)]))


WORKLOAD = r"""
import json, logging, os, sys
logging.getLogger("azure").setLevel(logging.CRITICAL)
from azure.core.exceptions import HttpResponseError
from azure.identity import WorkloadIdentityCredential
what, arg = sys.argv[1], sys.argv[2]
credential = WorkloadIdentityCredential()
if what == "token":
    print(json.dumps({"token": credential.get_token(arg).token}))
else:
    from azure.keyvault.secrets import SecretClient
    client = SecretClient(arg, credential)
    try:
        print(json.dumps({"value": client.get_secret(sys.argv[3]).value}))
    except HttpResponseError as e:
        body = e.response.json() if e.response is not None else {}
        print(json.dumps({"status": e.status_code, "error": body.get("error", {})}))
"""


def workload(env, *args):
    """Runs the workload with exactly `env` (plus the trust store, the proxy and the guard)."""
    full = dict(env, PATH=os.environ["PATH"], HOME=tmp, PYTHONPATH=GUARD, LOOPBACK_GUARD_LOG=guard_log,
                REQUESTS_CA_BUNDLE=os.path.join(state, "ca-bundle.pem"),
                HTTPS_PROXY=f"http://127.0.0.1:{ports['vault_proxy']}", NO_PROXY="127.0.0.1,localhost")
    res = subprocess.run([PYTHON, "-c", WORKLOAD, *args], capture_output=True, text=True, env=full, timeout=120)
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"failed": res.stderr[-1500:]}


def go_workload(env, vault_uri, name):
    """The Go client's azsecrets read with exactly `env` (plus trust store and proxy)."""
    full = dict(env, PATH=os.environ["PATH"], HOME=tmp, SSL_CERT_FILE=os.path.join(state, "ca-bundle.pem"),
                HTTPS_PROXY=f"http://127.0.0.1:{ports['vault_proxy']}", NO_PROXY="127.0.0.1,localhost")
    res = subprocess.run([GO_CLIENT, "secret", vault_uri, name], capture_output=True, text=True, env=full, timeout=120)
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"failed": res.stderr[-1500:]}


def forbidden_by_rbac(got):
    return got.get("status") == 403 and "ForbiddenByRbac" in got.get("text", "")


def claims(token):
    import base64
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def pod_env(rendered, token_file):
    """The env `wif render` gave the seed's container, the token file made the local one."""
    for doc in rendered:
        if doc.get("kind") == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
            env["AZURE_FEDERATED_TOKEN_FILE"] = token_file
            return env
    raise RuntimeError("no Deployment in the rendered output")


proc, banner = up()
env_lines = dict(l[len("export "):].split("=", 1) for l in printed("--print-env").splitlines())
sts = env_lines["AZURE_AUTHORITY_HOST"].strip("'")
setup = printed("--print-az-setup")
ports = {"vault_proxy": int(setup.split("HTTPS_PROXY='http://127.0.0.1:")[1].split("'")[0])}
check("wif up prints the azure-cli lines", "az cloud register -n WifLocal --endpoint-resource-manager" in banner
      and "core.instance_discovery=false" in banner and "--federated-token" in banner, banner)

# azure-cli: one-flag registration (it reads /metadata/endpoints), then the federated login.
rc, out, err = shell(setup.replace("\naz login", "\naz login --output none"))
check("az cloud register (one flag), az cloud set, az login --federated-token", rc == 0, err)
rc, out, err = shell(setup.replace("\naz login", "\naz login --output none"))
check("the same lines again, in a second shell, succeed too", rc == 0, err)
rc, out, err = az("account", "show", "--query", "[tenantId, user.name, environmentName]", "-o", "tsv")
check("az account show: the tenant, the service principal, the cloud",
      rc == 0 and out.split() == [TENANT, APP, "WifLocal"], (out, err))

# The seed's setup, twice: every command succeeds again and the ids stay.
manifest = os.path.join(tmp, "workload.yaml")
runs = [shell(f"bash {TUTORIALS}/workload-identity.sh", MANIFEST=manifest) for _ in range(2)]
check("workload-identity.sh succeeds, and again (idempotent)", all(r[0] == 0 for r in runs), [r[2] for r in runs])
client_id = runs[0][1].split("client id ")[1].split(",")[0] if "client id " in runs[0][1] else ""
issuer = runs[0][1].split("issuer ")[1].split(",")[0] if "issuer " in runs[0][1] else ""
check("the identity keeps its client id across PUTs", client_id and client_id in runs[1][1], runs[1][1])
check("az aks show --query oidcIssuerProfile.issuerUrl gives the local issuer",
      issuer.startswith("https://127.0.0.1:") and issuer.endswith("/") and issuer != sts + "/", issuer)
check("az identity federated-credential list shows the credential",
      f"myFedIdentity\t{issuer}\tsystem:serviceaccount:default:workload-identity-sa" in runs[1][1], runs[1][1])
rc, out, err = az("role", "assignment", "list", "--assignee", client_id, "--all", "--query", "[].roleDefinitionName", "-o", "tsv")
check("az role assignment list: the identity is Reader, once", rc == 0 and out.split() == ["Reader"], (out, err))
rc, principal, err = az("identity", "show", "-g", "myResourceGroup", "-n", "myIdentity", "--query", "principalId", "-o", "tsv")

# wif render mutates the seed's manifests; a process with exactly that env gets a token.
import yaml  # noqa: E402  (PyYAML, a dependency of kubernetes-validate in the test venv)

rendered = list(yaml.safe_load_all(common.run(WIF, "render", "-f", manifest, "--tenant-id", TENANT, "--authority-host", sts)))
env = pod_env(rendered, os.path.join(state, "tokens", "default", "workload-identity-sa"))
check("wif render: the seed's Deployment gets the identity's env",
      (env.get("AZURE_CLIENT_ID"), env.get("AZURE_TENANT_ID"), env.get("AZURE_AUTHORITY_HOST", "").rstrip("/"))
      == (client_id, TENANT, sts), env)
got = workload(env, "token", "https://management.azure.com/.default")
token = got.get("token", "")
check("that env gets a token for the new identity (appid, oid)",
      token and (claims(token)["appid"], claims(token)["oid"]) == (client_id, principal), got)


def arm(method, path, token=None, body=None, raw=None, headers=None):
    """An ARM, Graph or vault call with `requests`; (status, JSON or text, headers)."""
    code = ("import json, sys, requests\n"
            "method, url, token, body = sys.argv[1], sys.argv[2], sys.argv[3], sys.stdin.read()\n"
            "h = {'Authorization': 'Bearer ' + token} if token else {}\n"
            "h.update(json.loads(sys.argv[4]))\n"
            "r = requests.request(method, url, data=body.encode() if body else None, headers=h, timeout=30)\n"
            "try:\n    b = r.json()\nexcept ValueError:\n    b = r.text\n"
            "print(json.dumps([r.status_code, b, dict(r.headers)]))\n")
    full = dict(BASE_ENV, REQUESTS_CA_BUNDLE=os.path.join(state, "ca-bundle.pem"),
                HTTPS_PROXY=f"http://127.0.0.1:{ports['vault_proxy']}", NO_PROXY="127.0.0.1,localhost")
    url = path if path.startswith("https://") else f"{sts}{path}"
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    res = subprocess.run([PYTHON, "-c", code, method, url, token or "", json.dumps(headers or {})], input=data,
                         capture_output=True, text=True, env=full, timeout=60)
    try:
        return tuple(json.loads(res.stdout))
    except ValueError:
        return (0, res.stderr[-800:], {})


sub = az("account", "show", "--query", "id", "-o", "tsv")[1]
group = f"/subscriptions/{sub}/resourceGroups/myResourceGroup?api-version=2024-11-01"
status, body, _ = arm("GET", group, token)
check("the identity, Reader on its group, reads it", status == 200, (status, body))
status, body, _ = arm("PUT", group, token, {"location": "eastus"})
check("and may not write it: 403 AuthorizationFailed",
      (status, body.get("error", {}).get("code") if isinstance(body, dict) else body) == (403, "AuthorizationFailed"), body)

# The Key Vault tutorial: a 403 before the assignment, the value after it.
rc, vault_uri, err = shell(f"bash {TUTORIALS}/keyvault.sh", GRANT_WORKLOAD=0)
check("keyvault.sh: vault, Secrets Officer for the caller, secret set", rc == 0 and vault_uri.startswith("https://"), err)
vault_uri = vault_uri.splitlines()[-1] if vault_uri else ""
check("the vault's URI is under the reserved suffix", vault_uri == "https://keyvault-wif-tuto.vault.wif.test/", vault_uri)
got = workload(env, "secret", vault_uri, "wid-tuto-password")
check("SecretClient before the assignment: 403 Forbidden, innererror ForbiddenByRbac",
      got.get("status") == 403 and got.get("error", {}).get("innererror", {}).get("code") == "ForbiddenByRbac"
      and "Microsoft.KeyVault/vaults/secrets/getSecret/action" in got.get("error", {}).get("message", ""), got)
got = go_workload(env, vault_uri, "wid-tuto-password")
check("Go azsecrets before the assignment: 403 ForbiddenByRbac", forbidden_by_rbac(got), got)
rc, _, err = shell(f"bash {TUTORIALS}/keyvault.sh", GRANT_WORKLOAD=1)
check("keyvault.sh again, granting Key Vault Secrets User (re-run path)", rc == 0, err)
got = workload(env, "secret", vault_uri, "wid-tuto-password")
check("SecretClient with WorkloadIdentityCredential reads the secret", got == {"value": "Hello!"}, got)
got = go_workload(env, vault_uri, "wid-tuto-password")
check("Go azsecrets with WorkloadIdentityCredential reads the secret", got == {"value": "Hello!"}, got)
rc, _, err = shell(
    "az identity create -g myResourceGroup -n otherIdentity -l eastus -o none\n"
    "az identity federated-credential create -g myResourceGroup --identity-name otherIdentity -n other "
    f"--issuer {issuer} --subject system:serviceaccount:default:other-sa -o none")
other_id = az("identity", "show", "-g", "myResourceGroup", "-n", "otherIdentity", "--query", "clientId", "-o", "tsv")[1]
other_env = dict(env, AZURE_CLIENT_ID=other_id,
                 AZURE_FEDERATED_TOKEN_FILE=os.path.join(state, "tokens", "default", "other-sa"))
got = workload(other_env, "secret", vault_uri, "wid-tuto-password")
check("a second identity without an assignment is refused: 403 ForbiddenByRbac",
      rc == 0 and got.get("status") == 403 and got.get("error", {}).get("innererror", {}).get("code") == "ForbiddenByRbac", (got, err))
got = go_workload(other_env, vault_uri, "wid-tuto-password")
check("and so is it with Go azsecrets", forbidden_by_rbac(got), got)

# Storage accounts (ARM only): the tutorial's account, global names, no keys, a delete.
rc, out, err = az("cloud", "show", "--query", "suffixes.storageEndpoint", "-o", "tsv")
check("az cloud register took the storage suffix from /metadata/endpoints", rc == 0 and out == "storage.wif.test", (out, err))
runs = [shell(f"bash {TUTORIALS}/storage.sh") for _ in range(2)]
check("storage.sh: az storage account create, Storage Blob Data Reader at the account; and again",
      all(r[0] == 0 for r in runs), [r[2] for r in runs])
blob = runs[0][1].splitlines()[-1] if runs[0][1] else ""
check("primaryEndpoints.blob is the local one", blob == "https://stwiftuto.blob.storage.wif.test/", runs[0])
rc, out, err = az("storage", "account", "show", "-n", "stwiftuto", "-g", "myResourceGroup",
                  "--query", "[name, kind, sku.name, allowSharedKeyAccess, provisioningState]", "-o", "tsv")
check("az storage account show", rc == 0 and out.split() == ["stwiftuto", "StorageV2", "Standard_LRS", "false", "Succeeded"],
      (out, err))
account_id = f"/subscriptions/{sub}/resourceGroups/myResourceGroup/providers/Microsoft.Storage/storageAccounts/stwiftuto"
rc, out, err = az("storage", "account", "list", "-g", "myResourceGroup", "--query", "[].id", "-o", "tsv")
check("az storage account list -g", rc == 0 and out.split() == [account_id], (out, err))
rc, out, err = az("role", "assignment", "list", "--scope", account_id, "--query", "[].[roleDefinitionName, principalId]", "-o", "tsv")
check("the identity is Storage Blob Data Reader at the account, once",
      rc == 0 and out.splitlines() == [f"Storage Blob Data Reader\t{principal}"], (out, err))
rc, out, err = shell("az group create -n otherGroup -l eastus -o none\n"
                     "az storage account create -n stwiftuto -g otherGroup -l eastus --sku Standard_LRS -o none")
check("a second account of the same name in another group: StorageAccountAlreadyTaken",
      rc != 0 and "(StorageAccountAlreadyTaken) The storage account named stwiftuto is already taken." in err, (rc, err))
rc, out, err = az("storage", "account", "keys", "list", "-n", "stwiftuto", "-g", "myResourceGroup")
check("az storage account keys list is refused: Entra authorization only",
      rc != 0 and "(KeyBasedAuthenticationNotPermitted)" in err and "Microsoft Entra authorization only" in err
      and "--auth-mode login" in err, (rc, out, err))
rc, out, err = az("storage", "account", "check-name", "-n", "stwiftuto", "--query", "[nameAvailable, reason]", "-o", "tsv")
check("az storage account check-name: AlreadyExists", rc == 0 and out.split() == ["false", "AlreadyExists"], (out, err))
rc, out, err = shell("az storage account create -n stwiftuto2 -g otherGroup -l eastus --sku Standard_LRS -o none\n"
                     "az storage account delete -n stwiftuto2 -g otherGroup --yes\n"
                     "az storage account list -g otherGroup --query '[].name' -o tsv")
check("az storage account delete --yes", rc == 0 and out == "", (rc, out, err))
rc, out, err = az("storage", "account", "show", "-n", "stwiftuto2", "-g", "otherGroup")
check("the deleted account is gone: ResourceNotFound", rc != 0 and "(ResourceNotFound)" in err, (rc, err))

# Seed 003's blob data plane through azure-cli (scripts/tutorials/storage_blobs.sh): the blob
# host https://stwiftuto.blob.storage.wif.test comes from the cloud's storage suffix and is
# reached through HTTPS_PROXY. The data commands run as workload identities signed in with
# `az login --federated-token` (their own config dirs); the admin (Owner through callerRole,
# which grants containers/write as in Azure) only assigns the data roles.
def cli_login(name, client, token_file):
    """A second azure-cli config dir with the same cloud, signed in as `client` from the token file."""
    config_dir = os.path.join(tmp, f"azure-cli-{name}")
    setup_lines = "\n".join(l for l in printed("--print-az-setup").splitlines() if l.startswith("az ") and not l.startswith("az login"))
    rc, _, err = shell(f"export AZURE_CONFIG_DIR='{config_dir}'\n{setup_lines} >/dev/null\n"
                       f"az login --service-principal -u {client} -t {TENANT} --federated-token \"$(cat '{token_file}')\" "
                       "--allow-no-subscriptions --output none")
    return config_dir, rc, err


def as_cli(config_dir, script, **extra):
    return shell(f"export AZURE_CONFIG_DIR='{config_dir}'\n{script}", **extra)


def tls_through_front(host):
    """'' when a TLS session to `host` through the CONNECT front verifies with the trust store, else why not."""
    import ssl
    try:
        with socket.create_connection(("127.0.0.1", ports["vault_proxy"]), timeout=10) as s:
            s.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n\r\n".encode())
            answer = s.recv(4096).decode(errors="replace")
            if not answer.startswith("HTTP/1.1 200"):
                return answer.splitlines()[0] if answer else "no answer"
            context = ssl.create_default_context(cafile=os.path.join(state, "ca-bundle.pem"))
            with context.wrap_socket(s, server_hostname=host):
                return ""
    except (OSError, ssl.SSLError) as e:
        return str(e)


PERMISSION_MISMATCH = "You do not have the required permissions needed to perform this operation."  # azure-cli's text for it
blob_args = "--account-name stwiftuto --auth-mode login"
report = os.path.join(tmp, "report.csv")
with open(report, "w", encoding="utf-8") as f:
    f.write("id,city,amount\n" + "".join(f"{i},Zürich-{i % 7},{i * 3.25:.2f}\n" for i in range(20000)))
with open(report, "rb") as f:
    report_bytes = f.read()
other_principal = az("identity", "show", "-g", "myResourceGroup", "-n", "otherIdentity", "--query", "principalId", "-o", "tsv")[1]
other_cli, rc, err = cli_login("other", other_id, os.path.join(state, "tokens", "default", "other-sa"))
rc, out, _ = as_cli(other_cli, "az account show --query user.name -o tsv")
check("az login --federated-token as otherIdentity (no role yet), in its own config dir", rc == 0 and out == other_id, (out, err))
why = tls_through_front("stwiftuto.blob.storage.wif.test")
# Without it every azure-cli blob command retries for over a minute before failing.
check("the CONNECT front serves stwiftuto.blob.storage.wif.test a certificate that verifies (it names *.blob.<suffix>)",
      why == "", why)
if why:
    down(proc)
    print(f"interop_cloud: {common.failures} failure(s); stopped at the blob host's certificate")
    sys.exit(1)
rc, out, err = as_cli(other_cli, f"az storage container create -n input {blob_args} --debug")
check("before any data role: az storage container create is refused (403 AuthorizationPermissionMismatch on the blob host)",
      rc != 0 and PERMISSION_MISMATCH in err and "<Code>AuthorizationPermissionMismatch</Code>" in err
      and '"PUT /input?restype=container HTTP/1.1" 403' in err and "stwiftuto.blob.storage.wif.test:443" in err,
      (rc, err[-3000:]))
rc, out, err = az("role", "assignment", "create", "--role", "Storage Blob Data Contributor", "--assignee-object-id", other_principal,
                  "--assignee-principal-type", "ServicePrincipal", "--scope", account_id,
                  "--query", "[roleDefinitionId, principalId, scope]", "-o", "tsv")
check("az role assignment create --role 'Storage Blob Data Contributor' at the account (seed 003's shape)",
      rc == 0 and out.split() == [f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
                                  "ba92f5b4-2d11-453d-a403-e96b0029c9fe", other_principal, account_id], (out, err))
downloaded = os.path.join(tmp, "report.downloaded.csv")
rc, out, err = as_cli(other_cli, f"bash {TUTORIALS}/storage_blobs.sh", UPLOAD_FILE=report, DOWNLOAD_FILE=downloaded)
check("storage_blobs.sh: container created, report.csv uploaded and listed", rc == 0 and out.splitlines() == ["true", "report.csv"],
      (rc, out, err))
check("az storage blob download gives the same bytes",
      os.path.exists(downloaded) and open(downloaded, "rb").read() == report_bytes, os.path.exists(downloaded))
rc, out, err = as_cli(other_cli, f"az storage blob show {blob_args} -c input -n report.csv "
                                 "--query '[name, properties.contentLength, properties.blobType]' -o tsv")
check("az storage blob show: name, length, BlockBlob", rc == 0 and out.split() == ["report.csv", str(len(report_bytes)), "BlockBlob"],
      (out, err))
rc, out, err = as_cli(other_cli, f"az storage container create -n input {blob_args} --query created -o tsv")
check("az storage container create again: created false", rc == 0 and out == "false", (out, err))
rc, out, err = as_cli(other_cli, f"az storage blob upload {blob_args} --container-name input --name report.csv --file {report} "
                                 "--no-progress -o none")
check("az storage blob upload of the same name without --overwrite is refused: BlobAlreadyExists",
      rc != 0 and "The specified blob already exists." in err and "ErrorCode:BlobAlreadyExists" in err, (rc, err))
rc, out, err = as_cli(other_cli, f"az storage blob delete {blob_args} --container-name input --name report.csv")
check("az storage blob delete", rc == 0 and out == "", (rc, out, err))
rc, out, err = as_cli(other_cli, f"az storage blob show {blob_args} --container-name input --name report.csv")
# Get Blob Properties is a HEAD: no body, so azure-cli has the code only (as with Azure).
check("az storage blob show of the deleted blob: BlobNotFound (exit 3)",
      rc == 3 and "ErrorCode:BlobNotFound" in err and "Operation returned an invalid status 'Not Found'" in err, (rc, err))
rc, out, err = as_cli(other_cli, f"az storage blob download {blob_args} --container-name input --name report.csv "
                                 f"--file {downloaded}.missing --no-progress -o none")
check("az storage blob download of it: The specified blob does not exist. (BlobNotFound)",
      rc == 3 and "The specified blob does not exist." in err and "ErrorCode:BlobNotFound" in err, (rc, err))
rc, out, err = as_cli(other_cli, f"az storage blob upload {blob_args} -c input -n report.csv -f {report} --no-progress -o none\n"
                                 f"az storage blob list {blob_args} -c input -o tsv --query [].name")
check("uploaded again after the delete", rc == 0 and out == "report.csv", (rc, out, err))

# Storage Blob Data Reader only: the seed's workload identity (storage.sh's assignment), and
# otherIdentity once its Contributor assignment is replaced by Reader.
my_cli, rc, err = cli_login("workload", client_id, os.path.join(state, "tokens", "default", "workload-identity-sa"))
check("az login --federated-token as the seed's workload identity (Storage Blob Data Reader)", rc == 0, err)
for who, cli in (("the workload identity", my_cli), ("otherIdentity", other_cli)):
    if cli == other_cli:
        rc, out, err = shell(f"az role assignment delete --assignee {other_principal} --role 'Storage Blob Data Contributor' "
                             f"--scope '{account_id}'\n"
                             f"az role assignment create --role 'Storage Blob Data Reader' --assignee-object-id {other_principal} "
                             f"--assignee-principal-type ServicePrincipal --scope '{account_id}' -o none\n"
                             f"az role assignment list --scope '{account_id}' --assignee {other_principal} "
                             "--query [].roleDefinitionName -o tsv")
        check("az role assignment delete of Contributor, create of Reader: otherIdentity is Reader only",
              rc == 0 and out == "Storage Blob Data Reader", (rc, out, err))
    copy = os.path.join(tmp, f"report.{'other' if cli == other_cli else 'workload'}.csv")
    rc, out, err = as_cli(cli, f"az storage blob download {blob_args} -c input -n report.csv -f {copy} --no-progress -o none\n"
                               f"az storage blob list {blob_args} -c input -o tsv --query [].name")
    check(f"Reader ({who}): download gives the same bytes, list shows report.csv",
          rc == 0 and out == "report.csv" and os.path.exists(copy) and open(copy, "rb").read() == report_bytes, (rc, out, err))
    rc, out, err = as_cli(cli, f"az storage blob upload {blob_args} -c input -n report.csv -f {report} --overwrite --no-progress -o none")
    check(f"Reader ({who}): upload refused (AuthorizationPermissionMismatch)", rc != 0 and PERMISSION_MISMATCH in err, (rc, err))
    rc, out, err = as_cli(cli, f"az storage blob upload {blob_args} -c input -n new.csv -f {report} --no-progress -o none")
    check(f"Reader ({who}): a new blob refused too", rc != 0 and PERMISSION_MISMATCH in err, (rc, err))
rc, out, err = as_cli(other_cli, f"az storage blob delete {blob_args} -c input -n report.csv")
check("Reader: az storage blob delete refused", rc != 0 and PERMISSION_MISMATCH in err, (rc, err))

# Nothing acknowledged is lost on restart.
down(proc)
proc, _ = up()
rc, out, err = az("storage", "account", "show", "-n", "stwiftuto", "-g", "myResourceGroup", "--query", "primaryEndpoints.blob", "-o", "tsv")
check("after a restart: az storage account show", rc == 0 and out == blob, (out, err))
rc, out, err = as_cli(my_cli, f"az storage blob download {blob_args} -c input -n report.csv -f {downloaded}.after "
                           "--no-progress -o none")
check("after a restart: the blob is still there, the same bytes (the workload identity's download)",
      rc == 0 and os.path.exists(f"{downloaded}.after") and open(f"{downloaded}.after", "rb").read() == report_bytes, (rc, err))
rc, out, err = az("keyvault", "secret", "show", "--vault-name", "keyvault-wif-tuto", "--name", "wid-tuto-password",
                  "--query", "value", "-o", "tsv")
check("after a restart: az keyvault secret show", rc == 0 and out == "Hello!", (out, err))
got = workload(env, "secret", vault_uri, "wid-tuto-password")
check("after a restart: the identity still federates and reads", got == {"value": "Hello!"}, got)

# Bad input to every new endpoint: Azure's error shape, and the servers keep serving.
vault_token = az("account", "get-access-token", "--resource", "https://vault.wif.test", "--query", "accessToken", "-o", "tsv")[1]
graph_token = az("account", "get-access-token", "--resource", sts + "/", "--query", "accessToken", "-o", "tsv")[1]
arm_token = az("account", "get-access-token", "--query", "accessToken", "-o", "tsv")[1]
sub_path = f"/subscriptions/{sub}"


def code_of(body):
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


cases = [
    ("ARM: no token", arm("GET", f"{sub_path}?api-version=2022-12-01"), 401, "AuthenticationFailed"),
    ("ARM: a vault token", arm("GET", f"{sub_path}?api-version=2022-12-01", vault_token), 401, "InvalidAuthenticationTokenAudience"),
    ("ARM: a forged token", arm("GET", f"{sub_path}?api-version=2022-12-01", arm_token[:-6] + "AAAAAA"), 401, "InvalidAuthenticationToken"),
    ("ARM: no api-version", arm("GET", sub_path, arm_token), 400, "MissingApiVersionParameter"),
    ("ARM: malformed JSON", arm("PUT", f"{sub_path}/resourcegroups/x?api-version=1", arm_token, raw="{not json"), 400, "InvalidRequestContent"),
    ("ARM: unknown api path", arm("GET", f"{sub_path}/providers/Microsoft.Nope/things?api-version=1", arm_token), 404, "InvalidResourceType"),
    ("ARM: oversized body", arm("PUT", f"{sub_path}/resourcegroups/x?api-version=1", arm_token, raw="{" + " " * 200_000 + "}"), 413, "RequestEntityTooLarge"),
    ("ARM: a PUT on the subscription", arm("PUT", f"{sub_path}?api-version=2022-12-01", arm_token, {}), 405, "MethodNotAllowed"),
    ("ARM: an invalid storage account name", arm("PUT", f"{sub_path}/resourceGroups/myResourceGroup/providers/Microsoft.Storage/storageAccounts/Bad_Name?api-version=2025-08-01", arm_token, {"location": "eastus"}), 400, "AccountNameInvalid"),
    ("ARM: listKeys of a missing account", arm("POST", f"{sub_path}/resourceGroups/myResourceGroup/providers/Microsoft.Storage/storageAccounts/nosuch/listKeys?api-version=2025-08-01", arm_token), 404, "ResourceNotFound"),
    ("ARM: missing group", arm("GET", f"{sub_path}/resourceGroups/nope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x?api-version=1", arm_token), 404, "ResourceGroupNotFound"),
    ("Graph: no token", arm("GET", "/v1.0/servicePrincipals"), 401, "InvalidAuthenticationToken"),
    ("Graph: an ARM token", arm("GET", "/v1.0/servicePrincipals", arm_token), 401, "InvalidAuthenticationToken"),
    ("Graph: unknown segment", arm("GET", "/v1.0/users", graph_token), 400, "BadRequest"),
    ("Graph: a credential write with Application.Read.All only",
     arm("POST", f"/v1.0/applications/{APP}/federatedIdentityCredentials", graph_token,
         raw='{"name": "x", "issuer": "https://x.example/", "subject": "s", "audiences": ["api://AzureADTokenExchange"]}'),
     403, "Authorization_RequestDenied"),
    ("Graph: oversized body", arm("POST", "/v1.0/directoryObjects/getByIds", graph_token, raw="{" + " " * 200_000 + "}"), 413, "Request_BadRequest"),
    ("Graph: malformed getByIds", arm("POST", "/v1.0/directoryObjects/getByIds", graph_token, raw="[1,"), 400, "BadRequest"),
    ("vault: an ARM token", arm("GET", f"{vault_uri}secrets/wid-tuto-password/?api-version=7.4", arm_token), 401, "Unauthorized"),
    ("vault: malformed JSON", arm("PUT", f"{vault_uri}secrets/x?api-version=7.4", vault_token, raw="{oops"), 400, "BadParameter"),
    ("vault: oversized value", arm("PUT", f"{vault_uri}secrets/x?api-version=7.4", vault_token, {"value": "v" * 30_000}), 400, "BadParameter"),
    ("vault: bad secret name", arm("GET", f"{vault_uri}secrets/a_b/?api-version=7.4", vault_token), 400, "BadParameter"),
    ("vault: unknown path", arm("GET", f"{vault_uri}keys/k?api-version=7.4", vault_token), 404, "NotFound"),
    ("vault: a missing secret", arm("GET", f"{vault_uri}secrets/nope/?api-version=7.4", vault_token), 404, "SecretNotFound"),
]
for name, (status, body, _), want_status, want_code in cases:
    check(f"{name}: {want_status} {want_code}", (status, code_of(body)) == (want_status, want_code), (status, body))
status, body, headers = arm("GET", f"{vault_uri}secrets/wid-tuto-password/?api-version=7.4")
challenge = {k.lower(): v for k, v in headers.items()}.get("www-authenticate", "")
check("vault: no token is the 401 challenge naming the tenant and the vault resource",
      status == 401 and code_of(body) == "Unauthorized" and f'authorization="{sts}/{TENANT}"' in challenge
      and 'resource="https://vault.wif.test"' in challenge, (status, body, challenge))
status, body, _ = arm("GET", f"{sub_path}?api-version=2022-12-01", arm_token)
check("ARM still serves after the bad input", status == 200 and body.get("subscriptionId") == sub, body)


def connect(request):
    with socket.create_connection(("127.0.0.1", ports["vault_proxy"]), timeout=10) as s:
        s.sendall(request)
        return s.recv(4096).decode(errors="replace")


answer = connect(b"CONNECT azcliprod.blob.core.windows.net:443 HTTP/1.1\r\n\r\n")
check("CONNECT proxy: any other host is refused at once (403)", answer.startswith("HTTP/1.1 403 "), answer)
answer = connect(b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
check("CONNECT proxy: a plain request is refused (405)", answer.startswith("HTTP/1.1 405 "), answer)

# The tutorial's clean-up: the group goes, and its identities and accounts with it.
rc, _, err = az("group", "delete", "--name", "otherGroup", "--yes")
check("az group delete otherGroup", rc == 0, err)
rc, _, err = az("group", "delete", "--name", "myResourceGroup", "--yes")
check("az group delete (the tutorial's clean-up)", rc == 0, err)
rc, out, err = az("identity", "list", "--resource-group", "myResourceGroup")
check("its identities are gone with it: ResourceGroupNotFound", rc != 0 and "ResourceGroupNotFound" in err, (out, err))
rc, out, err = az("storage", "account", "list", "--query", "[].name", "-o", "tsv")
check("and its storage account: az storage account list is empty", rc == 0 and out == "", (out, err))
rc, out, err = az("storage", "account", "check-name", "-n", "stwiftuto", "--query", "nameAvailable", "-o", "tsv")
check("and the account's name is free again", rc == 0 and out == "true", (out, err))
got = workload(env, "token", "https://management.azure.com/.default")
check("and the deleted identity gets no token (AADSTS700016)", "AADSTS700016" in got.get("failed", ""), got)

down(proc)
left = open(guard_log).read() if os.path.exists(guard_log) else ""
check("no client tried to leave loopback", left == "", left)
print(f"interop_cloud: {common.failures} failure(s)")
sys.exit(1 if common.failures else 0)
