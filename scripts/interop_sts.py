#!/usr/bin/env python3
"""The Entra ID emulator (`wif sts`) against clients nobody here wrote: Python azure-identity
(WorkloadIdentityCredential, ClientAssertionCredential) and msal (ConfidentialClientApplication
with a client assertion), plus raw HTTP for malformed requests. Run by scripts/test with the
venv's python; argv[1] is the wif binary.

A real issuer (`wif issuer serve`) and the emulator run on 127.0.0.1 with their own CAs. Every
federation failure must reach the client with the right AADSTS code; attacks are refused; bad
input gets Entra's error, never a crash. Issued tokens are verified with PyJWT against the
emulator's published keys. Prints one line per check; exits non-zero if any failed."""
import select, socket
import base64, hashlib, hmac, json, logging, os, shutil, subprocess, sys, tempfile, time

import jwt

import interop_common as common
import msal
import requests

# Every HTTP wait is bounded: a request that names no timeout gets 30 s (the SDKs' own
# timeouts, when they set them, stand).
_unbounded_request = requests.Session.request
def _bounded_request(self, method, url, **kwargs):
    kwargs.setdefault("timeout", 30)
    return _unbounded_request(self, method, url, **kwargs)
requests.Session.request = _bounded_request
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientAssertionCredential, WorkloadIdentityCredential

# azure-identity logs every refusal at WARNING; the checks below print what matters.
logging.getLogger("azure").setLevel(logging.CRITICAL)
WIF = sys.argv[1]
TENANT = "aaaaaaaa-0000-4000-8000-00000000000a"
DOMAIN = "contoso.onmicrosoft.com"
READER = "11111111-0000-4000-8000-000000000001"
SLASHLESS = "44444444-0000-4000-8000-000000000004"
MI = "33333333-0000-4000-8000-000000000003"
UNKNOWN_CLIENT = "99999999-0000-4000-8000-000000000009"


check = common.check


def wif(*args):
    return common.run(WIF, *args)


def start(args, banner, env=None, within=30):
    return common.start(WIF, args, banner, env=env, within=within)


def free_port():
    """A port the kernel hands out for port 0 (read back from the bound socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


tmp = tempfile.mkdtemp(prefix="wif-sts-")
path = lambda name: os.path.join(tmp, name)
procs = []
try:
    wif("issuer", "keygen", "--out", path("sa.key"))
    wif("issuer", "keygen", "--out", path("rogue.key"))
    # The issuer URL must carry its port: the kernel picks one, the issuer serves there.
    port = free_port()
    ISSUER = f"https://127.0.0.1:{port}/"
    issuer_proc, _ = start(["issuer", "serve", "--key", path("sa.key"), "--issuer", ISSUER, "--addr", f"127.0.0.1:{port}",
                            "--health-addr", "127.0.0.1:0", "--self-signed-ca-out", path("issuer-ca.pem")], "listening on")
    procs.append(issuer_proc)
    fic = lambda name, issuer, subject: {"name": name, "issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}
    directory = {
        "tenants": [{
            "tenantId": TENANT, "domain": DOMAIN,
            "applications": [
                {"displayName": "reader", "appId": READER, "federatedIdentityCredentials": [fic("k8s-demo-app", ISSUER, "system:serviceaccount:demo:app")]},
                {"displayName": "slashless", "appId": SLASHLESS, "federatedIdentityCredentials": [fic("no-slash", ISSUER.rstrip("/"), "system:serviceaccount:demo:app")]},
            ],
            "userAssignedIdentities": [{"name": "wi-myapp-identity", "clientId": MI, "federatedIdentityCredentials": [fic("k8s-mi", ISSUER, "system:serviceaccount:demo:app")]}],
        }],
        "issuers": [{"issuer": ISSUER, "caFile": "issuer-ca.pem"}],
    }
    with open(path("directory.yaml"), "w") as f:
        json.dump(directory, f)  # JSON is YAML
    with open(path("admin.token"), "w") as f:
        f.write("interop-admin-token-0123456789\n")
    sts_args = ["sts", "--config", path("directory.yaml"), "--addr", "127.0.0.1:0", "--health-addr", "127.0.0.1:0",
                "--self-signed-ca-out", path("sts-ca.pem"), "--admin-token-file", path("admin.token"), "--state-file", path("state.yaml")]
    sts_proc, STS = start(sts_args, "Entra ID emulator listening on")
    procs.append(sts_proc)
    os.environ["REQUESTS_CA_BUNDLE"] = path("sts-ca.pem")
    os.environ.pop("AZURE_CLIENT_SECRET", None)

    def mint(name, sa="app", ns="demo", key="sa.key", audience="api://AzureADTokenExchange", issued_at=None, issuer=None):
        args = ["issuer", "mint", "--key", path(key), "--issuer", issuer or ISSUER, "--namespace", ns, "--service-account", sa,
                "--audience", audience, "--out", path(name)]
        if issued_at is not None:
            args += ["--issued-at", str(issued_at)]
        wif(*args)
        return path(name)

    jwks = requests.get(f"{STS}/{TENANT}/discovery/v2.0/keys").json()
    keys = {k["kid"]: jwt.PyJWK(k).key for k in jwks["keys"]}

    def verify_issued(token, audience):
        kid = jwt.get_unverified_header(token)["kid"]
        return jwt.decode(token, keys[kid], algorithms=["RS256"], audience=audience)

    # --- Success paths -----------------------------------------------------------------------
    token_file = mint("good.jwt")
    cred = WorkloadIdentityCredential(tenant_id=TENANT, client_id=READER, token_file_path=token_file, authority=STS)
    at = cred.get_token("https://vault.azure.net/.default")
    claims = verify_issued(at.token, "https://vault.azure.net")
    header = jwt.get_unverified_header(at.token)
    check("azure-identity WorkloadIdentityCredential gets a Key Vault token (v1 format)",
          claims["iss"] == f"https://sts.windows.net/{TENANT}/" and claims["appid"] == READER and claims["tid"] == TENANT
          and claims["ver"] == "1.0" and claims["idtyp"] == "app" and claims["sub"] == claims["oid"] and header.get("x5t") == header["kid"]
          and header.get("typ") == "JWT", json.dumps(claims))
    check("expires_on is about an hour ahead", 3500 < at.expires_on - time.time() < 3700, at.expires_on - time.time())

    assertion = open(token_file).read()
    cac = ClientAssertionCredential(TENANT, READER, lambda: assertion, authority=STS)
    api = "api://22222222-0000-4000-8000-000000000002"
    at2 = cac.get_token(f"{api}/.default")
    claims2 = verify_issued(at2.token, "22222222-0000-4000-8000-000000000002")
    metadata = requests.get(f"{STS}/{TENANT}/v2.0/.well-known/openid-configuration").json()
    check("azure-identity ClientAssertionCredential gets a v2 token whose iss is the tenant metadata's issuer",
          claims2["iss"] == metadata["issuer"] and claims2["azp"] == READER and claims2["ver"] == "2.0", json.dumps(claims2))

    app = msal.ConfidentialClientApplication(READER, authority=f"{STS}/{DOMAIN}", client_credential={"client_assertion": lambda: assertion},
                                             instance_discovery=False)
    result = app.acquire_token_for_client(scopes=["https://management.core.windows.net//.default"])
    check("msal ConfidentialClientApplication (tenant by domain, azure-cli's double-slash scope) gets a token",
          "access_token" in result and isinstance(result.get("expires_in"), int)
          and verify_issued(result["access_token"], "https://management.core.windows.net/")["tid"] == TENANT, result)
    again = app.acquire_token_for_client(scopes=["https://management.core.windows.net//.default"])
    check("msal serves the second call from its cache", again.get("token_source") == "cache", again.get("token_source"))

    newline_file = path("newline.jwt")
    with open(newline_file, "w") as f:
        f.write(assertion + "\n")
    at3 = WorkloadIdentityCredential(tenant_id=TENANT, client_id=READER, token_file_path=newline_file, authority=STS).get_token("https://storage.azure.com/.default")
    check("a token file with a trailing newline works (Python sends it verbatim)", bool(at3.token))

    mi = WorkloadIdentityCredential(tenant_id=DOMAIN, client_id=MI, token_file_path=token_file, authority=STS)
    mi_raw = requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": MI, "scope": "https://vault.azure.net/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion}).json()
    mi_claims = verify_issued(mi.get_token("https://vault.azure.net/.default").token, "https://vault.azure.net")
    check("a user-assigned managed identity gets a day-long token with xms_mirid and refresh_in",
          mi_raw["expires_in"] == 86399 and mi_raw["refresh_in"] == 43199 and mi_claims["xms_mirid"].endswith("/wi-myapp-identity"), mi_raw)

    v1 = requests.post(f"{STS}/{TENANT}/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": READER, "resource": "https://vault.azure.net",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion}).json()
    check("the v1 endpoint answers with strings and resource", isinstance(v1.get("expires_in"), str) and v1.get("resource") == "https://vault.azure.net"
          and v1["expires_on"].isdigit(), v1)

    # --- wif token get / inspect (the Rust client library behind a CLI) ----------------------
    cli_env = dict(os.environ, AZURE_AUTHORITY_HOST=STS, AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=READER,
                   AZURE_CLIENT_ID_MI=MI, AZURE_FEDERATED_TOKEN_FILE=token_file)
    def wif_token(*args, token_file_override=None):
        env = dict(cli_env, AZURE_FEDERATED_TOKEN_FILE=token_file_override or token_file)
        return subprocess.run([WIF, "token", *args], env=env, capture_output=True, text=True)
    got = wif_token("get", "--scope", "https://vault.azure.net/.default", "--ca-file", path("sts-ca.pem"), "--output", "json")
    got_json = json.loads(got.stdout) if got.returncode == 0 else {}
    check("wif token get (default identity from the webhook's variables)", got.returncode == 0
          and verify_issued(got_json["access_token"], "https://vault.azure.net")["appid"] == READER and got_json["token_type"] == "Bearer", got.stderr)
    named = wif_token("get", "--scope", "https://vault.azure.net/.default", "--ca-file", path("sts-ca.pem"), "--identity", "mi")
    check("wif token get --identity mi (a named identity)", named.returncode == 0
          and verify_issued(named.stdout.strip(), "https://vault.azure.net").get("xms_mirid", "").endswith("/wi-myapp-identity"), named.stderr)
    inspected = wif_token("inspect")
    check("wif token inspect prints the credential that accepts the token", inspected.returncode == 0
          and f'"subject": "system:serviceaccount:demo:app"' in inspected.stdout and f'"issuer": "{ISSUER}"' in inspected.stdout, inspected.stdout)

    # --- Federation failures through real clients --------------------------------------------
    def wi_error(client_id=READER, token=None, scope="https://vault.azure.net/.default", tenant=TENANT):
        c = WorkloadIdentityCredential(tenant_id=tenant, client_id=client_id, token_file_path=token or token_file, authority=STS)
        try:
            c.get_token(scope)
            return "no error"
        except ClientAuthenticationError as e:
            return str(e)

    def msal_error(token_path, client_id=READER):
        a = msal.ConfidentialClientApplication(client_id, authority=f"{STS}/{TENANT}", instance_discovery=False,
                                               client_credential={"client_assertion": lambda: open(token_path).read()})
        return a.acquire_token_for_client(scopes=["https://vault.azure.net/.default"])

    now = int(time.time())
    tampered_path = path("tampered.jwt")
    h, b, g = open(token_file).read().split(".")
    with open(tampered_path, "w") as f:
        f.write(f"{h}.{b}.{g[:-6]}{'AAAAAA' if g[-6:] != 'AAAAAA' else 'BBBBBB'}")
    cases = [
        ("bad signature", dict(token=tampered_path), 700027, "signature does not verify"),
        ("issuer (credential lacks the trailing slash)", dict(client_id=SLASHLESS), 700211, "trailing slash"),
        ("subject (other namespace)", dict(token=mint("prod.jwt", ns="production")), 700213, "namespace is 'demo' in the credential but 'production'"),
        ("audience", dict(token=mint("aud.jwt", audience="api://other")), 700212, "audience"),
        ("subject differing only in case", dict(token=mint("case.jwt", sa="App")), 7002138, "letter case"),
        ("expired assertion", dict(token=mint("old.jwt", issued_at=now - 7200)), 700024, "re-read the token file"),
        ("assertion not yet valid", dict(token=mint("future.jwt", issued_at=now + 3600)), 700024, "clock"),
        ("unknown kid", dict(token=mint("rogue.jwt", key="rogue.key")), 7000272, "rotated"),
        ("unknown client", dict(client_id=UNKNOWN_CLIENT), 700016, "has"),
        ("unknown tenant", dict(tenant="bbbbbbbb-0000-4000-8000-00000000000b"), 90002, "tenants"),
        ("bad scope", dict(scope="https://vault.azure.net/user_impersonation"), 1002012, "scope=https://vault.azure.net/.default"),
    ]
    for name, kwargs, code, words in cases:
        message = wi_error(**kwargs)
        check(f"azure-identity surfaces {name} as AADSTS{code} with a diagnosis", f"AADSTS{code}:" in message and words in message, message)
    refused = wif_token("get", "--scope", "https://vault.azure.net/.default", "--ca-file", path("sts-ca.pem"), token_file_override=path("prod.jwt"))
    check("wif token get fails with the AADSTS code and the diagnosis", refused.returncode != 0 and "AADSTS700213:" in refused.stderr
          and "namespace is 'demo' in the credential but 'production'" in refused.stderr, refused.stderr)
    for name, token_name, code in [("subject", "prod.jwt", 700213), ("expired", "old.jwt", 700024), ("unknown kid", "rogue.jwt", 7000272)]:
        result = msal_error(path(token_name))
        check(f"msal surfaces {name} as error_codes [{code}]", result.get("error_codes") == [code] and result.get("error") == "invalid_client", result)

    # --- Attacks ------------------------------------------------------------------------------
    def raw(assertion_text, client_id=READER, **extra):
        data = {"grant_type": "client_credentials", "client_id": client_id, "scope": "https://vault.azure.net/.default",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion_text}
        data.update(extra)
        return requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", data=data)

    b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    head, body, sig = assertion.split(".")
    real_claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    kid = json.loads(base64.urlsafe_b64decode(head + "=="))["kid"]
    issuer_pub = requests.get(f"{ISSUER}openid/v1/jwks", verify=path("issuer-ca.pem")).content
    hs_input = f"{b64({'alg': 'HS256', 'kid': kid})}.{body}"
    hs_sig = base64.urlsafe_b64encode(hmac.new(issuer_pub, hs_input.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    altered = dict(real_claims, sub="system:serviceaccount:demo:app", exp=real_claims["exp"] + 86400)
    attacks = [
        ("alg none", f"{b64({'alg': 'none', 'kid': kid})}.{body}.", 5002730),
        ("HMAC keyed with the issuer's public JWKS", f"{hs_input}.{hs_sig}", 5002730),
        ("a token from an issuer nobody trusts", open(mint("untrusted.jwt", issuer="https://evil.example/")).read(), 700211),
        ("a replayed token with altered claims", f"{head}.{b64(altered)}.{sig}", 700027),
        ("an Entra-issued token as the assertion", at2.token, 700222),
    ]
    for name, text, code in attacks:
        r = raw(text)
        j = r.json()
        check(f"refuses {name} (AADSTS{code})", j.get("error_codes") == [code] and r.status_code in (400, 401) and "access_token" not in j, j)

    # --- Bad input ------------------------------------------------------------------------------
    good = {"grant_type": "client_credentials", "client_id": READER, "scope": "https://vault.azure.net/.default",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion": assertion}
    without = lambda k: {key: v for key, v in good.items() if key != k}
    bad = [
        ("missing grant_type", lambda: requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", data=without("grant_type")), 400, 900144),
        ("missing client_id", lambda: requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", data=without("client_id")), 400, 900144),
        ("missing scope", lambda: requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", data=without("scope")), 400, 900144),
        ("missing assertion", lambda: requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", data=without("client_assertion")), 401, 7000216),
        ("wrong grant type", lambda: requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", data=dict(good, grant_type="password")), 400, 70003),
        ("GET on the token endpoint", lambda: requests.get(f"{STS}/{TENANT}/oauth2/v2.0/token"), 400, 900561),
        ("oversized form", lambda: requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", data=dict(good, padding="x" * 100_000)), 413, 90100),
        ("garbage assertion", lambda: raw("not.a.jwt"), 400, 50027),
        ("resource on v2", lambda: raw(assertion, resource="https://vault.azure.net"), 400, 901002),
        ("JSON instead of a form", lambda: requests.post(f"{STS}/{TENANT}/oauth2/v2.0/token", json=good), 400, 900144),
        ("'common' as tenant", lambda: requests.post(f"{STS}/common/oauth2/v2.0/token", data=good), 400, 900023),
        ("metadata of an unknown tenant", lambda: requests.get(f"{STS}/bbbbbbbb-0000-4000-8000-00000000000b/v2.0/.well-known/openid-configuration"), 400, 90002),
    ]
    for name, call, status, code in bad:
        r = call()
        j = r.json()
        ok = (r.status_code == status and j.get("error_codes") == [code] and j["error_description"].startswith(f"AADSTS{code}:")
              and {"timestamp", "trace_id", "correlation_id", "error_uri"} <= j.keys())
        check(f"{name}: HTTP {status} AADSTS{code}", ok, f"{r.status_code} {j}")

    # --- Management API (Graph-shaped), changes live and surviving a restart -----------------
    admin = {"Authorization": "Bearer interop-admin-token-0123456789"}
    fics_url = lambda base: f"{base}/v1.0/applications/{READER}/federatedIdentityCredentials"
    staging_token = mint("staging.jwt", ns="staging")
    check("management API refuses a request without its token", requests.get(fics_url(STS)).status_code == 401)
    check("before: the staging service account is refused", "AADSTS700213:" in wi_error(token=staging_token))
    created = requests.post(fics_url(STS), headers=admin, json={"name": "k8s-staging-app", "issuer": ISSUER, "subject": "system:serviceaccount:staging:app",
                                                            "audiences": ["api://AzureADTokenExchange"], "description": "added at run time"})
    check("POST federatedIdentityCredentials creates one (201, Graph shape)", created.status_code == 201 and created.json()["name"] == "k8s-staging-app"
          and len(created.json()["id"]) == 36, created.text)
    check("after: the staging service account gets a token", wi_error(token=staging_token) == "no error")
    bad = requests.post(fics_url(STS), headers=admin, json={"name": "two-audiences", "issuer": ISSUER, "subject": "s", "audiences": ["a", "b"]})
    check("Entra's rules hold: two audiences are refused with 400", bad.status_code == 400 and "exactly one audience" in bad.text, bad.text)
    listed = requests.get(fics_url(STS), headers=admin).json()["value"]
    check("GET lists both credentials", sorted(f["name"] for f in listed) == ["k8s-demo-app", "k8s-staging-app"], listed)
    patched = requests.patch(f"{fics_url(STS)}/k8s-staging-app", headers=admin, json={"subject": "system:serviceaccount:staging:web"})
    check("PATCH changes the subject (204), and the old subject is refused again", patched.status_code == 204 and "AADSTS700213:" in wi_error(token=staging_token))
    requests.patch(f"{fics_url(STS)}/k8s-staging-app", headers=admin, json={"subject": "system:serviceaccount:staging:app"})
    sts_proc.terminate(); sts_proc.wait(timeout=20)
    sts_proc, STS = start(sts_args, "Entra ID emulator listening on")
    procs.append(sts_proc)
    check("a restart keeps acknowledged changes (state file)", wi_error(token=staging_token) == "no error")
    gone = requests.delete(f"{fics_url(STS)}/k8s-staging-app", headers=admin)
    check("DELETE removes it (204) and the exchange is refused again", gone.status_code == 204 and "AADSTS700213:" in wi_error(token=staging_token))
    check("GET of a removed credential is 404", requests.get(f"{fics_url(STS)}/k8s-staging-app", headers=admin).status_code == 404)

    metadata = requests.get(f"{STS}/{TENANT}/v2.0/.well-known/openid-configuration").json()
    check("metadata advertises absolute URLs with the port", metadata["token_endpoint"] == f"{STS}/{TENANT}/oauth2/v2.0/token"
          and metadata["jwks_uri"].startswith(STS) and metadata["authorization_endpoint"].startswith(STS), metadata)
    check("the emulator is still serving after all of that", requests.get(f"{STS}/{TENANT}/discovery/keys").status_code == 200)
finally:
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(tmp, ignore_errors=True)

print(f"interop_sts: {common.failures} failed")
sys.exit(1 if common.failures else 0)
