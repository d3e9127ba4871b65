#!/usr/bin/env python3
"""The managed-identity proxy (`wif proxy`) against clients nobody here wrote, each pointed at
loopback explicitly: Python azure-identity's ManagedIdentityCredential (IMDS through
AZURE_POD_IDENTITY_AUTHORITY_HOST, and App Service through IDENTITY_ENDPOINT/IDENTITY_HEADER),
MSAL Python's ManagedIdentityClient (both ways), Node @azure/identity (both ways), and
`az login --identity` when argv[3] names an azure-cli. Tokens come from the real emulator
(`wif sts`), exchanged from a projected token minted by `wif issuer mint`; each is verified
with PyJWT against the emulator's keys. A loopback guard (scripts/loopback_guard) refuses and
records any connection that would leave the machine, 169.254.169.254 first; one recorded
attempt fails the run. Run by scripts/test: argv[1] the wif binary, argv[2] the Node clients'
node_modules, argv[3] (optional) the az program. One line per check; exit non-zero on failure."""
import json, os, select, shutil, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
GUARD = os.path.join(HERE, "loopback_guard")
sys.path.insert(0, GUARD)
tmp = tempfile.mkdtemp(prefix="wif-proxy-")
os.environ["LOOPBACK_GUARD_LOG"] = GUARD_LOG = os.path.join(tmp, "left-loopback.log")
import sitecustomize  # noqa: F401  (the guard, in this process too)

import logging, ssl, threading, datetime, http.server
import jwt

import interop_common as common
import msal
import requests
from azure.identity import ManagedIdentityCredential

# azure-identity logs every refusal at WARNING; the checks below print what matters.
logging.getLogger("azure").setLevel(logging.CRITICAL)
WIF, NODE_MODULES = sys.argv[1], sys.argv[2]
AZ = sys.argv[3] if len(sys.argv) > 3 else None
TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"
READER = "11111111-0000-4000-8000-000000000001"
WRITER = "22222222-0000-4000-8000-000000000002"
MISMATCHED = "55555555-0000-4000-8000-000000000005"
AD_HOC = "33333333-0000-4000-8000-000000000003"  # trusts demo/app; not in the proxy's env
UNKNOWN = "99999999-0000-4000-8000-000000000009"
SECRET = "interop-identity-header-0123456789"
VAULT = "https://vault.azure.net"


check = common.check


def wif(*args):
    return common.run(WIF, *args)


def start(args, banner, env=None, within=30):
    return common.start(WIF, args, banner, env=env, within=within)


path = lambda name: os.path.join(tmp, name)
procs = []


def arm_stand_in():
    """An HTTPS server on loopback answering ARM's subscription list with none (what az login
    asks after the token); its own CA, made here with cryptography. Returns its URL and CA file."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "arm stand-in")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    with open(path("arm.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(path("arm.key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))

    class Arm(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"value": []}).encode()
            self.send_response(200 if self.path.startswith("/subscriptions") or self.path.startswith("/tenants") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Arm)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(path("arm.pem"), path("arm.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"https://127.0.0.1:{server.server_address[1]}", path("arm.pem")
CLIENT_VARS = ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
               "AZURE_CLIENT_SECRET", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
               "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_TOKEN_CREDENTIALS"]
for name in CLIENT_VARS:
    os.environ.pop(name, None)
os.environ["NO_PROXY"] = "127.0.0.1,localhost"


class Endpoint:
    """The client-side variables of one way of reaching the proxy, set while in use."""
    def __init__(self, **variables):
        self.variables = variables

    def __enter__(self):
        os.environ.update(self.variables)
        return self

    def __exit__(self, *exc):
        for name in self.variables:
            os.environ.pop(name, None)


try:
    wif("issuer", "keygen", "--out", path("sa.key"))
    ISSUER = "https://oidc.interop-proxy.example/"
    wif("jwks", "--public-keys", path("sa.key"), "--output-file", path("jwks.json"))
    fic = lambda ns: [{"name": "k8s", "issuer": ISSUER, "subject": f"system:serviceaccount:{ns}:app", "audiences": ["api://AzureADTokenExchange"]}]
    directory = {
        "tenants": [
            {"tenantId": TENANT_A, "applications": [
                {"displayName": "reader", "appId": READER, "federatedIdentityCredentials": fic("demo")},
                {"displayName": "mismatched", "appId": MISMATCHED, "federatedIdentityCredentials": fic("production")},
                {"displayName": "ad-hoc", "appId": AD_HOC, "federatedIdentityCredentials": fic("demo")}]},
            {"tenantId": TENANT_B, "applications": [
                {"displayName": "writer", "appId": WRITER, "federatedIdentityCredentials": fic("demo")}]},
        ],
        "issuers": [{"issuer": ISSUER, "jwksFile": "jwks.json"}],
    }
    with open(path("directory.yaml"), "w") as f:
        json.dump(directory, f)
    sts_proc, STS = start(["sts", "--config", path("directory.yaml"), "--addr", "127.0.0.1:0", "--health-addr", "127.0.0.1:0",
                           "--self-signed-ca-out", path("sts-ca.pem")], "Entra ID emulator listening on")
    procs.append(sts_proc)
    wif("issuer", "mint", "--key", path("sa.key"), "--issuer", ISSUER, "--namespace", "demo", "--service-account", "app",
        "--out", path("token"))
    # The sidecar's environment, as the webhook injects it (the app's has none of it).
    proxy_env = {"PATH": os.environ.get("PATH", ""), "AZURE_TENANT_ID": TENANT_A, "AZURE_CLIENT_ID": READER,
                 "AZURE_CLIENT_ID_WRITER": WRITER, "AZURE_TENANT_ID_WRITER": TENANT_B,
                 "AZURE_CLIENT_ID_MISMATCHED": MISMATCHED, "AZURE_FEDERATED_TOKEN_FILE": path("token"),
                 "AZURE_AUTHORITY_HOST": STS, "SSL_CERT_FILE": path("sts-ca.pem"), "IDENTITY_HEADER": SECRET}
    proxy_proc, PROXY = start(["proxy", "--proxy-port", "0"], "IMDS proxy listening on", env=proxy_env)
    procs.append(proxy_proc)
    IMDS = Endpoint(AZURE_POD_IDENTITY_AUTHORITY_HOST=PROXY)
    APP_SERVICE = Endpoint(IDENTITY_ENDPOINT=f"{PROXY}/msi/token", IDENTITY_HEADER=SECRET)

    jwks = requests.get(f"{STS}/{TENANT_A}/discovery/v2.0/keys", verify=path("sts-ca.pem")).json()
    keys = {k["kid"]: jwt.PyJWK(k).key for k in jwks["keys"]}

    def issued(token, audience):
        """The claims of a token the emulator signed, or an exception."""
        kid = jwt.get_unverified_header(token)["kid"]
        return jwt.decode(token, keys[kid], algorithms=["RS256"], audience=audience)

    def token_ok(name, token, tenant, client, audience=VAULT):
        try:
            claims = issued(token, audience)
            check(name, (claims["tid"], claims["appid"]) == (tenant, client), claims)
        except Exception as e:
            check(name, False, repr(e))

    # --- raw: what SDK probes get, at once ---
    probe = requests.get(f"{PROXY}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={VAULT}", timeout=1)
    check("probe without Metadata: 400 with IMDS's JSON", probe.status_code == 400 and probe.json() ==
          {"error": "invalid_request", "error_description": "Required metadata header not specified"}, probe.text)

    # --- Python azure-identity ---
    for endpoint, way in [(IMDS, "IMDS via AZURE_POD_IDENTITY_AUTHORITY_HOST"), (APP_SERVICE, "App Service via IDENTITY_ENDPOINT")]:
        with endpoint:
            try:
                token = ManagedIdentityCredential().get_token(f"{VAULT}/.default").token
                token_ok(f"azure-identity ManagedIdentityCredential, {way}: the default identity", token, TENANT_A, READER)
            except Exception as e:
                check(f"azure-identity ManagedIdentityCredential, {way}: the default identity", False, repr(e))
            try:
                token = ManagedIdentityCredential(client_id=WRITER).get_token(f"{VAULT}/.default").token
                token_ok(f"azure-identity ManagedIdentityCredential, {way}: client_id picks the writer in tenant B", token, TENANT_B, WRITER)
            except Exception as e:
                check(f"azure-identity ManagedIdentityCredential, {way}: client_id picks the writer", False, repr(e))
            name = f"azure-identity ManagedIdentityCredential, {way}: a client_id the proxy was not told about, in the default tenant (as upstream)"
            try:
                token_ok(name, ManagedIdentityCredential(client_id=AD_HOC).get_token(f"{VAULT}/.default").token, TENANT_A, AD_HOC)
            except Exception as e:
                check(name, False, repr(e))
    with IMDS:
        try:
            ManagedIdentityCredential(client_id=UNKNOWN).get_token(f"{VAULT}/.default")
            check("azure-identity: a client_id no application has is refused by Entra", False, "a token was issued")
        except Exception as e:
            check("azure-identity: a client_id no application has is refused by Entra with AADSTS700016",
                  "AADSTS700016" in str(e) and UNKNOWN in str(e), str(e))
        try:
            ManagedIdentityCredential(client_id=MISMATCHED).get_token(f"{VAULT}/.default")
            check("azure-identity: Entra's refusal reaches the app", False, "a token was issued")
        except Exception as e:
            check("azure-identity: Entra's refusal reaches the app with its AADSTS code", "AADSTS700213" in str(e), str(e))

    # --- MSAL Python ---
    for endpoint, way in [(IMDS, "IMDS"), (APP_SERVICE, "App Service")]:
        with endpoint:
            for identity, tenant, client, label in [(msal.SystemAssignedManagedIdentity(), TENANT_A, READER, "system-assigned (the default)"),
                                                    (msal.UserAssignedManagedIdentity(client_id=WRITER), TENANT_B, WRITER, "user-assigned writer")]:
                app = msal.ManagedIdentityClient(identity, http_client=requests.Session())
                result = app.acquire_token_for_client(resource=VAULT)
                if "access_token" in result:
                    token_ok(f"MSAL Python ManagedIdentityClient, {way}, {label}", result["access_token"], tenant, client)
                else:
                    check(f"MSAL Python ManagedIdentityClient, {way}, {label}", False, result)
    with IMDS:
        app = msal.ManagedIdentityClient(msal.UserAssignedManagedIdentity(client_id=MISMATCHED), http_client=requests.Session())
        result = app.acquire_token_for_client(resource=VAULT)
        check("MSAL Python: Entra's refusal reaches the app with its AADSTS code",
              "access_token" not in result and "AADSTS700213" in json.dumps(result), result)

    # --- Node @azure/identity ---
    node_env = {k: v for k, v in os.environ.items() if k not in CLIENT_VARS}
    node_env.update(NODE_PATH=NODE_MODULES, LOOPBACK_GUARD_LOG=GUARD_LOG)

    def node(variables, *args):
        res = subprocess.run(["node", "--require", os.path.join(GUARD, "guard.cjs"), os.path.join(HERE, "interop_proxy_node.cjs"), "mi", *args],
                             capture_output=True, text=True, env={**node_env, **variables}, timeout=120)
        try:
            return json.loads(res.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"ok": False, "message": res.stdout + res.stderr}

    for endpoint, way in [(IMDS, "IMDS via AZURE_POD_IDENTITY_AUTHORITY_HOST"), (APP_SERVICE, "App Service via IDENTITY_ENDPOINT")]:
        for client, tenant, label in [(None, TENANT_A, "the default identity"), (WRITER, TENANT_B, "clientId picks the writer")]:
            result = node(endpoint.variables, f"{VAULT}/.default", *([client] if client else []))
            name = f"Node @azure/identity ManagedIdentityCredential, {way}: {label}"
            if result.get("ok"):
                token_ok(name, result["token"], tenant, client or READER)
            else:
                check(name, False, result)
    result = node(IMDS.variables, f"{VAULT}/.default", MISMATCHED)
    check("Node @azure/identity: Entra's refusal reaches the app with its AADSTS code",
          not result.get("ok") and "AADSTS700213" in result.get("message", ""), result)

    # --- azure-cli, in a custom cloud whose ARM is a loopback stand-in listing no subscription ---
    if AZ:
        arm_url, arm_ca = arm_stand_in()
        az_env = {k: v for k, v in os.environ.items() if k not in CLIENT_VARS}
        az_env.update(AZURE_CONFIG_DIR=path("azcfg"), PYTHONPATH=GUARD, LOOPBACK_GUARD_LOG=GUARD_LOG,
                      REQUESTS_CA_BUNDLE=arm_ca, AZURE_CORE_COLLECT_TELEMETRY="false",
                      AZURE_CORE_ONLY_SHOW_ERRORS="true", **APP_SERVICE.variables)
        az = lambda *args: subprocess.run([AZ, *args], capture_output=True, text=True, env=az_env, timeout=300)
        # azure-cli's first command in a config dir looks up the newest release online: say
        # it was looked up just now, for this very version.
        version = subprocess.run([os.path.join(os.path.dirname(AZ), "python"), "-c",
                                  "from azure.cli.core import __version__; print(__version__)"],
                                 capture_output=True, text=True, env=az_env).stdout.strip()
        os.makedirs(path("azcfg"), exist_ok=True)
        with open(path("azcfg/versionCheck.json"), "w") as f:
            json.dump({"versions": {"core": {"local": version}, "azure-cli": {"local": version}},
                       "update_time": datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")}, f)
        cloud = az("cloud", "register", "-n", "WifLocal", "--skip-endpoint-discovery",
                   "--endpoint-resource-manager", arm_url + "/", "--endpoint-active-directory", STS,
                   "--endpoint-active-directory-resource-id", "https://management.core.windows.net/")
        cloud = cloud if cloud.returncode else az("cloud", "set", "-n", "WifLocal")
        check("az cloud register: a custom cloud on loopback", cloud.returncode == 0, cloud.stderr)
        login = az("login", "--identity", "--allow-no-subscriptions", "--output", "json")
        check("az login --identity through the App Service endpoint", login.returncode == 0, login.stdout + login.stderr)
        if login.returncode == 0:
            res = az("account", "get-access-token", "--resource", VAULT, "--output", "json")
            try:
                token_ok("az account get-access-token after az login --identity", json.loads(res.stdout)["accessToken"], TENANT_A, READER)
            except Exception as e:
                check("az account get-access-token after az login --identity", False, f"{e!r} {res.stdout} {res.stderr}")

    left = open(GUARD_LOG).read() if os.path.exists(GUARD_LOG) else ""
    check("no client tried to leave loopback (169.254.169.254 or any other address)", left == "", left)
finally:
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)

print(f"interop_proxy: {common.failures} failure(s)")
sys.exit(1 if common.failures else 0)
