#!/usr/bin/env python3
"""The Entra ID emulator (`wif sts`) and the managed-identity proxy (`wif proxy`) against the
Azure SDK for Java and MSAL4J, which nobody here wrote (tests/clients/java, built by
scripts/java-client: azure-identity and azure-security-keyvault-secrets from azure-sdk-bom
1.3.8, msal4j as azure-identity brings it). Seed 000's two identities in two tenants from one
token file with WorkloadIdentityCredential; seed 002's secret through the emulator's CONNECT
proxy with SecretClient (challenge verification on): the value with Key Vault Secrets User,
403 ForbiddenByRbac without a role, 404 SecretNotFound; MSAL4J's ConfidentialClientApplication
with the token as its client assertion; ManagedIdentityCredential through `wif proxy`, by App
Service's IDENTITY_ENDPOINT/IDENTITY_HEADER and by IMDS endpoint (AZURE_POD_IDENTITY_AUTHORITY_HOST,
where MSAL4J asks for //metadata/identity/oauth2/token), both on loopback, a client id picking
the other tenant's identity. Federation failures reach the Java exception, through
azure-identity and through MSAL4J, with Entra's text and then the emulator's diagnosis word for
word (MSAL4J keeps error_description only, so the emulator writes it there after Entra's words):
a namespace typo (AADSTS700213) and an issuer differing only by a trailing slash (AADSTS700211).
An expired projected token in the token file fails with AADSTS700024 and the diagnosis, and the
same WorkloadIdentityCredential object succeeds once a fresh token is written into that file:
the file is read again, not cached (the client waits for a marker file, the test for the
client's line: no sleeps). The client's loopback guard refuses a public name and
169.254.169.254 before any packet, and DefaultAzureCredential with nothing configured is
refused IMDS by the guard. Under strace (when it is there) every client run may connect() and
send to loopback only.
Every server listens on 127.0.0.1; the JVM trusts the emulator's CA only through a PKCS12 trust
store made here with keytool. Run by scripts/test: argv[1] the wif binary, argv[2] the jar
scripts/java-client printed. One line per check; exit non-zero if any failed."""
import base64, ipaddress, json, os, re, select, shutil, subprocess, sys, tempfile, time

import interop_common as common
import yaml

WIF, JAR = (os.path.abspath(a) for a in sys.argv[1:3])
HOSTS = os.path.join(os.path.dirname(JAR), "loopback-hosts")
check = common.check
TENANT_A = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_B = "bbbbbbbb-0000-4000-8000-00000000000b"
READER = "11111111-0000-4000-8000-000000000001"
WRITER = "22222222-0000-4000-8000-000000000002"
MISMATCHED = "55555555-0000-4000-8000-000000000005"
NO_ROLE = "66666666-0000-4000-8000-000000000006"
SLASHLESS = "77777777-0000-4000-8000-000000000007"
READER_OBJECT = "0b1ec700-0000-4000-8000-000000000001"
SUBSCRIPTION = "5ab5c000-0000-4000-8000-000000000005"
SECRET = "interop-java-identity-header-0123456789"
ISSUER = "https://oidc.interop-java.example/"
VAULT = "https://vault.azure.net"
# The emulator's diagnoses, word for word as it writes them into error_description after
# Entra's text and before "Trace ID".
NAMESPACE_DIAGNOSIS = (f" wif: application {MISMATCHED}: closest federated identity credential is 'k8s': its subject is "
                       "'system:serviceaccount:production:app' but the token's sub is 'system:serviceaccount:demo:app' "
                       "(the namespace is 'production' in the credential but 'demo' in the token). Trace ID: ")
SLASH_DIAGNOSIS = (f" wif: application {SLASHLESS}: closest federated identity credential is 'k8s': its issuer is "
                   f"'{ISSUER.rstrip('/')}' but the token's iss is '{ISSUER}' (they differ only by a trailing slash: the token's "
                   "issuer ends with '/', the credential's does not (AKS issuers end with '/')). Trace ID: ")
EXPIRED_DIAGNOSIS = (r" wif: token expired at {exp} \(now \S+ \(\d+\), skew 300 s\)\. Kubelet rewrites the projected token at "
                     r"80% of its lifetime: re-read the token file instead of keeping its content\. Trace ID: ")
CLIENT_VARS = ["AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST",
               "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_POD_IDENTITY_AUTHORITY_HOST",
               "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT",
               "MSI_SECRET", "AZURE_TOKEN_CREDENTIALS", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy",
               "JDK_JAVA_OPTIONS", "JAVA_TOOL_OPTIONS", "AZURE_HTTP_CLIENT_IMPLEMENTATION"]

tmp = tempfile.mkdtemp(prefix="wif-java-")
path = lambda name: os.path.join(tmp, name)
procs = []


def wif(*args):
    return common.run(WIF, *args)


def start(args, banner, env=None):
    proc, address = common.start(WIF, args, banner, env=env)
    procs.append(proc)
    return address


def start_sts(args):
    """Starts `wif sts` and waits (bounded) for its banner; the banner line."""
    proc = common.popen_logged([WIF, *args], text=True)
    procs.append(proc)
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if ready else ""
    if "Entra ID emulator listening on" not in line or "CONNECT proxy" not in line:
        raise RuntimeError(f"wif sts did not start: {line!r} {common.log_of(proc)}")
    return proc, line


STRACE = shutil.which("strace")
left_loopback = []  # every connect() or send a client made to anything but loopback, from strace


def java_command(args, env=None, jvm=()):
    """The client's command line, environment and strace output file (None without strace): the
    guard's hosts file and the trust store, none of the credential variables but `env`'s, under
    strace (connect, sendto, sendmsg) when it is there."""
    base = {k: v for k, v in os.environ.items() if k not in CLIENT_VARS}
    base.update(NO_PROXY="127.0.0.1,localhost", **(env or {}))
    trace = path(f"strace-{len(os.listdir(tmp))}") if STRACE else None
    prefix = [STRACE, "-f", "-qq", "-e", "trace=connect,sendto,sendmsg", "-o", trace] if STRACE else []
    command = [*prefix, "java", f"-Djdk.net.hosts.file={HOSTS}", f"-Djavax.net.ssl.trustStore={path('trust.p12')}",
               "-Djavax.net.ssl.trustStorePassword=changeit", "-Djavax.net.ssl.trustStoreType=PKCS12", *jvm, "-jar", JAR, *args]
    return command, base, trace


def traced(mode, trace):
    """Keeps in left_loopback every connect() or send the run made to anything but loopback (a
    DNS query included)."""
    if trace:
        left_loopback.extend(f"{mode}: {line}" for line in open(trace) if not loopback_connect(line))


def java(*args, env=None, jvm=()):
    """Runs the client to its end (see java_command); (rc, stdout, stderr)."""
    command, base, trace = java_command(args, env, jvm)
    res = subprocess.run(command, capture_output=True, text=True, env=base, timeout=180)
    traced(args[0], trace)
    return res.returncode, res.stdout.strip(), res.stderr.strip()


def loopback_connect(line):
    """Whether an strace line is not a connect() or send to a network address beyond loopback."""
    if "AF_INET" not in line:
        return True
    addresses = re.findall(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"', line)
    ips = [ipaddress.ip_address(a or b) for a, b in addresses]
    return bool(ips) and all((getattr(ip, "ipv4_mapped", None) or ip).is_loopback for ip in ips)


def token_line(out):
    """The claims of a `token {...}` line, or {}."""
    line = out.splitlines()[-1] if out else ""
    return json.loads(line.split(" ", 1)[1]) if line.startswith("token {") else {}


def signed_by_emulator(token):
    """Whether the emulator's published keys verify the token (PyJWT where it is installed,
    else the kid is one the emulator publishes)."""
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    try:
        import jwt
    except ImportError:
        return header.get("kid") in keys
    return bool(jwt.decode(token, jwt.PyJWK(keys[header["kid"]]).key, algorithms=["RS256"], options={"verify_aud": False}))


def token_check(name, res, tenant, client, audience=VAULT, expect_mirid=False):
    rc, out, err = res
    claims = token_line(out) if rc == 0 else {}
    ok = (claims and claims["tid"] == tenant and claims["appid"] == client and claims["aud"] == audience
          and claims["expires_on"] > 0 and signed_by_emulator(claims["access_token"]))
    check(name, ok, f"rc={rc} {claims or out} {err[-1500:]}")


try:
    # --- An issuer's key, a directory trusting it in two tenants, the emulator on loopback ----
    wif("issuer", "keygen", "--out", path("sa.key"))
    wif("jwks", "--public-keys", path("sa.key"), "--output-file", path("jwks.json"))
    fic = lambda ns, issuer=ISSUER: [{"name": "k8s", "issuer": issuer, "subject": f"system:serviceaccount:{ns}:app",
                                      "audiences": ["api://AzureADTokenExchange"]}]
    vault_scope = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv-java"
    directory = {
        "tenants": [
            {"tenantId": TENANT_A, "applications": [
                {"displayName": "reader", "appId": READER, "objectId": READER_OBJECT, "federatedIdentityCredentials": fic("demo")},
                {"displayName": "no-role", "appId": NO_ROLE, "federatedIdentityCredentials": fic("demo")},
                {"displayName": "mismatched", "appId": MISMATCHED, "federatedIdentityCredentials": fic("production")},
                # The issuer as typed without AKS's trailing slash: the token's iss ends with '/'.
                {"displayName": "slashless", "appId": SLASHLESS, "federatedIdentityCredentials": fic("demo", ISSUER.rstrip("/"))}]},
            {"tenantId": TENANT_B, "applications": [
                {"displayName": "writer", "appId": WRITER, "federatedIdentityCredentials": fic("demo")}]},
        ],
        "issuers": [{"issuer": ISSUER, "jwksFile": "jwks.json"}],
        # Seed 002's vault: the reader holds Key Vault Secrets User there, no-role nothing.
        "subscriptions": [{"subscriptionId": SUBSCRIPTION, "tenantId": TENANT_A, "callerRole": "None", "resourceGroups": [
            {"name": "rg", "location": "eastus", "keyVaults": [{"name": "kv-java", "location": "eastus", "secrets": {
                "greeting": {"name": "greeting", "versions": [
                    {"version": "0123456789abcdef0123456789abcdef", "value": "hello from java", "created": 1700000000}]}}}]}]}],
        "roleAssignments": [{"name": "6a5e0000-0000-4000-8000-000000000006", "scope": vault_scope,
                             "roleDefinitionId": "4633458b-17de-408a-b874-0445c86b69e6",  # Key Vault Secrets User
                             "principalId": READER_OBJECT, "principalType": "ServicePrincipal"}],
    }
    with open(path("directory.yaml"), "w") as f:
        json.dump(directory, f)  # JSON is YAML
    sts_proc, banner = start_sts(["sts", "--config", path("directory.yaml"), "--addr", "127.0.0.1:0", "--health-addr", "127.0.0.1:0",
                                  "--vault-proxy-addr", "127.0.0.1:0", "--self-signed-ca-out", path("sts-ca.pem")])
    STS = banner.split("listening on ")[1].split()[0]
    VAULT_PROXY = banner.split("through the CONNECT proxy ")[1].split()[0]
    subprocess.run(["keytool", "-importcert", "-noprompt", "-storetype", "PKCS12", "-alias", "wif-sts", "-file", path("sts-ca.pem"),
                    "-keystore", path("trust.p12"), "-storepass", "changeit"], check=True, capture_output=True)
    wif("issuer", "mint", "--key", path("sa.key"), "--issuer", ISSUER, "--namespace", "demo", "--service-account", "app",
        "--out", path("token"))
    import ssl, urllib.request
    context = ssl.create_default_context(cafile=path("sts-ca.pem"))
    with urllib.request.urlopen(f"{STS}/{TENANT_A}/discovery/v2.0/keys", context=context, timeout=30) as r:
        keys = {k["kid"]: k for k in json.load(r)["keys"]}

    # --- Seed 000: a reader in tenant A and a writer in tenant B from one token file ----------
    token_check("Java WorkloadIdentityCredential (disableInstanceDiscovery): the reader in tenant A",
                java("workload", TENANT_A, READER, path("token"), STS, f"{VAULT}/.default"), TENANT_A, READER)
    token_check("Java WorkloadIdentityCredential, the same token file: the writer in tenant B",
                java("workload", TENANT_B, WRITER, path("token"), STS, f"{VAULT}/.default"), TENANT_B, WRITER)
    # The webhook's variables exactly: `wif render` mutates a labelled pod of demo/app, and the
    # container's env (the token path made the local file) is all the JVM gets.
    with open(path("pod.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {
                "name": "app", "namespace": "demo", "annotations": {"azure.workload.identity/client-id": READER}}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": "app", "namespace": "demo", "labels": {"azure.workload.identity/use": "true"}},
             "spec": {"serviceAccountName": "app", "containers": [{"name": "app", "image": "app:1"}]}}]}, f)
    rendered = list(yaml.safe_load_all(wif("render", "-f", path("pod.json"), "--tenant-id", TENANT_A,
                                           "--authority-host", STS)))
    # A List stays a List, its items mutated.
    items = [i for d in rendered for i in (d["items"] if d.get("kind") == "List" else [d])]
    pod = next(d for d in items if d.get("kind") == "Pod")
    injected = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"] if "value" in e}
    check("wif render gives the pod the webhook's four variables",
          sorted(injected) == ["AZURE_AUTHORITY_HOST", "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID"]
          and injected["AZURE_CLIENT_ID"] == READER, injected)
    webhook_env = dict(injected, AZURE_FEDERATED_TOKEN_FILE=path("token"))
    token_check("Java DefaultAzureCredential (disableInstanceDiscovery) with exactly the variables wif render injects",
                java("default", f"{VAULT}/.default", "disable-instance-discovery", env=webhook_env), TENANT_A, READER)

    # --- MSAL4J ------------------------------------------------------------------------------
    token_check("MSAL4J ConfidentialClientApplication (client assertion, instanceDiscovery false)",
                java("msal", TENANT_A, READER, path("token"), STS, f"{VAULT}/.default"), TENANT_A, READER)
    token_check("MSAL4J: the writer in tenant B with the same assertion",
                java("msal", TENANT_B, WRITER, path("token"), STS, "https://management.core.windows.net//.default"),
                TENANT_B, WRITER, audience="https://management.core.windows.net/")

    # --- Federation failures: Entra's text, then the emulator's diagnosis ("wif: ...") -------
    # MSAL4J keeps error_description alone (not wif_diagnosis), so the emulator writes its
    # diagnosis there too, after Entra's words and before "Trace ID".
    for who, mode in [("Java WorkloadIdentityCredential", "workload"), ("MSAL4J", "msal")]:
        rc, out, err = java(mode, TENANT_A, MISMATCHED, path("token"), STS, f"{VAULT}/.default")
        check(f"{who}: a namespace typo fails with MsalServiceException, Entra's AADSTS700213 text and the emulator's diagnosis",
              rc == 1 and "com.microsoft.aad.msal4j.MsalServiceException: AADSTS700213: No matching federated identity record "
              "found for presented assertion subject 'system:serviceaccount:demo:app'." in err
              and NAMESPACE_DIAGNOSIS in err, f"rc={rc} {out} {err[-2000:]}")
        rc, out, err = java(mode, TENANT_A, SLASHLESS, path("token"), STS, f"{VAULT}/.default")
        check(f"{who}: an issuer differing only by a trailing slash fails with AADSTS700211 and the emulator's diagnosis",
              rc == 1 and "com.microsoft.aad.msal4j.MsalServiceException: AADSTS700211: No matching federated identity record "
              f"found for presented assertion issuer '{ISSUER}'." in err and SLASH_DIAGNOSIS in err, f"rc={rc} {out} {err[-2000:]}")

    # --- An expired assertion is read again from the file, not cached ------------------------
    # One credential object, asked twice: the token file holds an expired token for the first
    # call, a fresh one (written into the same file) for the second, whose other scope no
    # token cache answers. The client waits for the marker file, the test for its first line.
    issued_at = int(time.time()) - 7200
    wif("issuer", "mint", "--key", path("sa.key"), "--issuer", ISSUER, "--namespace", "demo", "--service-account", "app",
        "--issued-at", str(issued_at), "--out", path("rotating-token"))
    exp = issued_at + 3600
    expired = EXPIRED_DIAGNOSIS.format(exp=re.escape(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(exp))} ({exp})"))
    command, base, trace = java_command(["reread", TENANT_A, READER, path("rotating-token"), STS, f"{VAULT}/.default",
                                         "https://management.azure.com/.default", path("rotated")])
    with open(path("reread.err"), "w") as reread_err:  # a file, so no unread pipe can hold the client up
        reread = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=reread_err, text=True, env=base)
    procs.append(reread)
    ready, _, _ = select.select([reread.stdout], [], [], 120)
    first = reread.stdout.readline().strip() if ready else "(no first line within 120 s)"
    check("Java WorkloadIdentityCredential: an expired token in the token file fails with AADSTS700024 and the emulator's diagnosis",
          first.startswith("first failed java.lang.RuntimeException: ")
          and "com.microsoft.aad.msal4j.MsalServiceException: AADSTS700024: Client assertion is not within its valid time range." in first
          and re.search(expired, first) is not None, first)
    wif("issuer", "mint", "--key", path("sa.key"), "--issuer", ISSUER, "--namespace", "demo", "--service-account", "app",
        "--out", path("rotating-token"))
    open(path("rotated"), "w").close()
    try:
        out, _ = reread.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        reread.kill()
        out, _ = reread.communicate()
    traced("reread", trace)
    token_check("Java WorkloadIdentityCredential, the same object after a fresh token is written into the same file: a token (read again, not cached)",
                (reread.returncode, out.strip(), open(path("reread.err")).read().strip()), TENANT_A, READER,
                audience="https://management.azure.com")

    # --- SecretClient through the emulator's CONNECT proxy (vault hosts have no DNS) ----------
    # azure-core takes HTTPS_PROXY / NO_PROXY from the environment only with
    # java.net.useSystemProxies=true (else from https.proxyHost...).
    vault_url = "https://kv-java.vault.wif.test"
    proxied = dict(env=dict(HTTPS_PROXY=VAULT_PROXY), jvm=["-Djava.net.useSystemProxies=true"])
    workload_env = dict(AZURE_TENANT_ID=TENANT_A, AZURE_CLIENT_ID=READER, AZURE_FEDERATED_TOKEN_FILE=path("token"),
                        AZURE_AUTHORITY_HOST=STS, HTTPS_PROXY=VAULT_PROXY)
    rc, out, err = java("secret", vault_url, "greeting", "workload", TENANT_A, READER, path("token"), STS, **proxied)
    check("Java SecretClient (challenge verification on), WorkloadIdentityCredential, Key Vault Secrets User: the value",
          (rc, out) == (0, "secret hello from java"), f"rc={rc} {out} {err[-2000:]}")
    rc, out, err = java("secret", vault_url, "greeting", "disable-instance-discovery", env=workload_env,
                        jvm=["-Djava.net.useSystemProxies=true"])
    check("Java SecretClient with DefaultAzureCredential (disableInstanceDiscovery) from the webhook's variables",
          (rc, out) == (0, "secret hello from java"), f"rc={rc} {out} {err[-2000:]}")
    rc, out, err = java("secret", vault_url, "greeting", "workload", TENANT_A, NO_ROLE, path("token"), STS, **proxied)
    check("Java SecretClient, an identity with no role at the vault: 403 Forbidden/ForbiddenByRbac (ResourceModifiedException)",
          rc == 3 and "status=403 error_code=Forbidden inner_error_code=ForbiddenByRbac" in err
          and "com.azure.core.exception.ResourceModifiedException: Status code 403" in err, f"rc={rc} {out} {err[-2000:]}")
    rc, out, err = java("secret", vault_url, "missing", "workload", TENANT_A, READER, path("token"), STS, **proxied)
    check("Java SecretClient, a secret that is not there: 404 SecretNotFound (ResourceNotFoundException)",
          rc == 3 and "status=404 error_code=SecretNotFound" in err
          and "com.azure.core.exception.ResourceNotFoundException: Status code 404" in err, f"rc={rc} {out} {err[-2000:]}")
    # (Both take about 20 s: azure-identity retries the failed exchange.)
    rc, out, err = java("default", f"{VAULT}/.default", env=workload_env, jvm=["-Djava.net.useSystemProxies=true"])
    check("DefaultAzureCredential with instance discovery on: MSAL4J asks login.microsoftonline.com (at the authority's port) "
          "through HTTPS_PROXY, and the emulator's CONNECT front refuses it",
          rc == 1 and re.search(r"HttpProxyConnectException: http, none, /127\.0\.0\.1:\d+ => "
                                r"login\.microsoftonline\.com/<unresolved>:\d+, status: 403 Forbidden", err) is not None,
          f"rc={rc} {out} {err[-2000:]}")
    rc, out, err = java("default", f"{VAULT}/.default", env=dict(workload_env, HTTPS_PROXY=""))
    check("DefaultAzureCredential with instance discovery on, no proxy: login.microsoftonline.com does not resolve (guard)",
          rc == 1 and "java.net.UnknownHostException: login.microsoftonline.com" in err, f"rc={rc} {out} {err[-2000:]}")

    # --- ManagedIdentityCredential through wif proxy, pointed at loopback explicitly ----------
    proxy_env = {"PATH": os.environ.get("PATH", ""), "AZURE_TENANT_ID": TENANT_A, "AZURE_CLIENT_ID": READER,
                 "AZURE_CLIENT_ID_WRITER": WRITER, "AZURE_TENANT_ID_WRITER": TENANT_B,
                 "AZURE_CLIENT_ID_MISMATCHED": MISMATCHED, "AZURE_FEDERATED_TOKEN_FILE": path("token"),
                 "AZURE_AUTHORITY_HOST": STS, "SSL_CERT_FILE": path("sts-ca.pem"), "IDENTITY_HEADER": SECRET}
    PROXY = start(["proxy", "--proxy-port", "0"], "IMDS proxy listening on", env=proxy_env)
    app_service = dict(IDENTITY_ENDPOINT=f"{PROXY}/msi/token", IDENTITY_HEADER=SECRET)
    # IMDS through AZURE_POD_IDENTITY_AUTHORITY_HOST: MSAL4J 1.23.1 asks for
    # //metadata/identity/oauth2/token there (upstream's router cleans the path; so does wif's).
    imds = dict(AZURE_POD_IDENTITY_AUTHORITY_HOST=PROXY)
    for way, variables in [("App Service via IDENTITY_ENDPOINT", app_service), ("IMDS via AZURE_POD_IDENTITY_AUTHORITY_HOST", imds)]:
        token_check(f"Java ManagedIdentityCredential, {way}: the default identity",
                    java("managed", f"{VAULT}/.default", env=variables), TENANT_A, READER)
        token_check(f"Java ManagedIdentityCredential, {way}: clientId picks the writer in tenant B",
                    java("managed", f"{VAULT}/.default", WRITER, env=variables), TENANT_B, WRITER)
    rc, out, err = java("managed", f"{VAULT}/.default", MISMATCHED, env=app_service)
    check("Java ManagedIdentityCredential: Entra's refusal reaches the app with AADSTS700213",
          rc == 1 and "AADSTS700213" in err, f"rc={rc} {out} {err[-2000:]}")
    rc, out, err = java("managed", f"{VAULT}/.default")
    check("the client refuses ManagedIdentityCredential with no loopback endpoint set (it would ask 169.254.169.254)",
          rc == 2 and "without one the SDK would ask 169.254.169.254" in err, f"rc={rc} {out} {err}")

    # --- The loopback guard ------------------------------------------------------------------
    rc, out, err = java("guard-probe")
    probe = json.loads(out.split(" ", 1)[1]) if out.startswith("guard {") else {}
    check("guard-probe: login.microsoftonline.com does not resolve (the JDK reads the loopback hosts file only)",
          rc == 0 and probe.get("dns", "").startswith("java.net.UnknownHostException: Unable to resolve host login.microsoftonline.com in hosts file"),
          f"rc={rc} {out} {err}")
    check("guard-probe: HttpURLConnection to 169.254.169.254:80 is refused by the ProxySelector",
          "loopback guard: refused a connection to http://169.254.169.254/" in probe.get("httpurlconnection", ""), out)
    check("guard-probe: azure-core's Netty client to 169.254.169.254:80 is refused before the connect",
          "loopback guard: refused a connection to /169.254.169.254:80 (Netty)" in probe.get("netty", ""), out)
    rc, out, err = java("default", f"{VAULT}/.default", env=dict(AZURE_TENANT_ID=TENANT_A))
    check("DefaultAzureCredential with nothing to go on never leaves loopback: IMDS is refused by the guard",
          rc == 1 and "loopback guard: refused http://169.254.169.254/metadata/identity/oauth2/token" in err,
          f"rc={rc} {out} {err[-2000:]}")
    if STRACE:
        check("no Java client connected or sent beyond loopback, nor to a DNS server (strace: connect, sendto, sendmsg)",
              not left_loopback, left_loopback[:5])
finally:
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)

print(f"interop_java: {common.failures} failed")
sys.exit(1 if common.failures else 0)
