#!/usr/bin/env python3
"""The web console of `wif up` (issue 31) as a person uses it, in Debian's Chromium driven by
playwright-core (scripts/interop_console.cjs), and as an attacker without the link would try it,
with Python `requests`. `wif up` starts with a config holding an app registration that trusts no
workload yet, a subscription, a resource group with a key vault (a secret) and a storage account
(a blob), and the workload's ServiceAccount production/api as a token file only (no clientId, so
`wif up` adds no credential for it). Its ready banner carries the login link.

Without the link: every console page, the event stream and a form POST answer 401 and name no
id of the directory, as do a forged session cookie and a forged login token; a Host other than
loopback's answers 404. In the browser: the link logs in once; the add-credential form refuses a
name with markup inline (rendering none of it) and takes a credential whose namespace is a typo
(`prod` for `production`) with markup in its description (shown as text); the workload's token
exchange (`wif token get` with exactly the env `wif up --print-env --service-account
production/api` prints, plus AZURE_CLIENT_ID of the app) fails, and the refused row appears on
the already open exchanges page without a reload, with AADSTS700213 and the diagnosis naming the
typo; its link "Add the credential this token needs" opens the form prefilled; once added, the
same exchange succeeds and appears live; a role assignment made on the roles page is listed
under its scope; every page is saved at 1280 and 390 pixels (target/console-screenshots/,
<page>-<width>.png), without a sideways scroll at 390, every form control labelled, no request
leaving the console's origin. Then azure-cli, logged in as wif up prints, lists the role
assignment and the credentials the browser made. With a link of `wif up --console-link`: the
session cookie's attributes, a POST without the session's csrf or from another Origin is 403
and changes nothing, a credential for another issuer made and deleted with the right ones, a
parent's 21st credential refused inline (Entra's 20), logout. The Python and Node clients run behind the loopback guard; Chromium's requests to anything
but the console's origin are aborted and counted. argv[1]: wif; argv[2]: az; argv[3]: the
Node clients' node_modules. One line per check; exit non-zero on failure."""
import base64, hashlib, html.parser, json, os, re, select, shlex, shutil, signal, socket, ssl, struct, subprocess, sys
import tempfile, threading, time

import interop_common as common

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GUARD = os.path.join(HERE, "loopback_guard")
SHOTS = os.path.join(ROOT, "target", "console-screenshots")
check = common.check

TENANT = "aaaaaaaa-0000-4000-8000-00000000000a"
ADMIN = "11111111-0000-4000-8000-000000000001"  # azure-cli logs in as it
APP, APP_NAME = "33333333-0000-4000-8000-000000000003", "orders-api"  # the workload's app registration
APP_OID = "44444444-0000-4000-8000-000000000004"  # its service principal
SUBSCRIPTION, GROUP, VAULT = "55555555-0000-4000-8000-000000000005", "rg-console", "kv-console-wif"
SCOPE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.KeyVault/vaults/{VAULT}"
ROLE = "Key Vault Secrets User"
SECRET, SECRET_VALUE = "greeting", "hello-from-the-console-test"
ACCOUNT, CONTAINER, BLOB = "stconsolewif", "reports", "today.csv"
NAMESPACE, TYPO, SA = "production", "prod", "api"
# The credentials the browser makes (scripts/interop_console.cjs names them).
BROWSER_CREDENTIALS = {"orders-typo": f"system:serviceaccount:{TYPO}:{SA}", "orders-fixed": f"system:serviceaccount:{NAMESPACE}:{SA}"}
DIRECTORY_IDS = (TENANT, ADMIN, APP, APP_OID, SUBSCRIPTION)
LINK = re.compile(r"https://127\.0\.0\.1:\d+/_console/login\?token=[A-Za-z0-9_.\-]+")
PAGES = ("overview", "identities", "add-credential", "roles", "resources", "exchanges")
CONFIG = f"""tenants:
- tenantId: {TENANT}
  domain: local.onmicrosoft.com
  applications:
  - {{displayName: console-admin, appId: {ADMIN}, graphAppRoles: [Application.Read.All]}}
  - {{displayName: {APP_NAME}, appId: {APP}, objectId: {APP_OID}}}
subscriptions:
- subscriptionId: {SUBSCRIPTION}
  tenantId: {TENANT}
  displayName: console test
  resourceGroups:
  - name: {GROUP}
    location: eastus
    managedClusters: [{{name: aks-console}}]
    keyVaults:
    - name: {VAULT}
      location: eastus
      secrets:
        {SECRET}: {{name: {SECRET}, versions: [{{version: 0123456789abcdef0123456789abcdef, value: {SECRET_VALUE}, created: 1700000000}}]}}
    storageAccounts:
    - name: {ACCOUNT}
      location: eastus
      containers: [{{name: {CONTAINER}, blobs: [{{name: {BLOB}, content: "day,orders"}}]}}]
serviceAccounts:
- {{namespace: default, name: default, clientId: {ADMIN}}}
- {{namespace: {NAMESPACE}, name: {SA}}}
"""


def guard_this_process(log):
    """The loopback guard in this process too (its own requests go to the console)."""
    import importlib.util
    os.environ["LOOPBACK_GUARD_LOG"] = log
    spec = importlib.util.spec_from_file_location("loopback_guard_here", os.path.join(GUARD, "sitecustomize.py"))
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


def up(wif, state, config, log_path, within=60):
    """Starts `wif up` in its own process group; the process and its banner (up to its last
    line, "Ctrl-C stops every server.")."""
    log = open(log_path, "a")
    proc = subprocess.Popen([wif, "up", "--state-dir", state, "--config", config], stdout=subprocess.PIPE, stderr=log,
                            start_new_session=True)
    seen, deadline = b"", time.monotonic() + within
    while b"\nCtrl-C stops every server.\n" not in seen:
        ready, _, _ = select.select([proc.stdout], [], [], max(0, deadline - time.monotonic()))
        chunk = os.read(proc.stdout.fileno(), 65536) if ready else b""
        if not chunk:
            down(proc)
            raise RuntimeError(f"wif up did not start: {seen.decode()!r}; see {log_path}")
        seen += chunk
    return proc, seen.decode()


def down(proc):
    """SIGINT to wif up's process group; SIGKILL if it has not stopped within 15 s."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def leaf_spki(port, ca):
    """The base64 SHA-256 of the SubjectPublicKeyInfo of the certificate the emulator serves,
    once it verified against `ca` for 127.0.0.1: what Chromium is told to trust."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            der = tls.getpeercert(binary_form=True)
    key = x509.load_der_x509_certificate(der).public_key()
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def exports(text):
    """The variables of `export K='V'` lines."""
    found = {}
    for line in text.splitlines():
        if line.startswith("export "):
            for word in shlex.split(line[len("export "):]):
                key, _, value = word.partition("=")
                found[key] = value
    return found


class Inputs(html.parser.HTMLParser):
    """The input elements of a page: name -> value."""

    def __init__(self):
        super().__init__()
        self.inputs = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.inputs[a["name"]] = a.get("value") or ""


def inputs_of(page):
    parser = Inputs()
    parser.feed(page)
    return parser.inputs


def names_no_id(text):
    return not any(i.lower() in text.lower() for i in DIRECTORY_IDS) and SECRET_VALUE not in text


def png_width(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return struct.unpack(">I", head[16:20])[0] if head[:8] == b"\x89PNG\r\n\x1a\n" else None


def bounded(http, method, url, **kwargs):
    """(status, headers, the first 64 KiB of the body): an event stream answered by mistake
    cannot hold the test."""
    with http.request(method, url, stream=True, allow_redirects=False, timeout=30, **kwargs) as r:
        return r.status_code, r.headers, next(r.iter_content(65536), b"").decode(errors="replace")


def without_session(http, base):
    """What anyone on the machine without the link gets."""
    for path in ("/_console/", "/_console/identities", "/_console/exchanges", "/_console/exchanges/events",
                 "/_console/roles", "/_console/resources", f"/_console/credentials/new?parent={APP}",
                 f"/_console/resources/secret?vault={VAULT}&name={SECRET}"):
        status, _, text = bounded(http, "GET", base + path)
        check(f"no session: GET {path} is 401, says to log in with the link, names no id",
              status == 401 and "log in with the link" in text.lower() and names_no_id(text), (status, text[:300]))
    for path in ("/_console/identities", "/_console/exchanges/events"):
        status, _, text = bounded(http, "GET", base + path, headers={"Cookie": "wif_console=" + "A" * 43})
        check(f"a forged session cookie (wif_console=AAAA...) on {path}: 401, no id", status == 401 and names_no_id(text),
              (status, text[:300]))
    for what, query in (("a forged login token", "?token=" + "A" * 43), ("a login without a token", "")):
        r = http.get(f"{base}/_console/login{query}", allow_redirects=False, timeout=30)
        check(f"{what}: 401, no session cookie, no id",
              r.status_code == 401 and "wif_console" not in r.headers.get("set-cookie", "") and names_no_id(r.text),
              (r.status_code, r.headers.get("set-cookie"), r.text[:300]))
    form = {"parent": APP, "scenario": "kubernetes", "issuer": "https://127.0.0.1:1/", "namespace": "x",
            "service_account": "y", "name": "sneaky", "audience": "api://AzureADTokenExchange", "csrf": "x"}
    for path, data in (("/_console/credentials", form), ("/_console/roles", {"scope": SCOPE, "role": "Owner", "principal": APP_OID}),
                       ("/_console/credentials/delete", {"parent": APP, "name": "orders-typo", "csrf": "x"})):
        r = http.post(base + path, data=data, allow_redirects=False, timeout=30)
        check(f"no session: POST {path} is 401", r.status_code == 401 and names_no_id(r.text), (r.status_code, r.text[:300]))
    port = base.rsplit(":", 1)[1]
    for host in ("example.com", f"example.com:{port}", f"127.0.0.1.example.com:{port}"):
        r = http.get(base + "/_console/", headers={"Host": host}, allow_redirects=False, timeout=30)
        check(f"Host: {host} is 404", r.status_code == 404 and names_no_id(r.text), (r.status_code, r.text[:300]))


def login(http, wif, state, base):
    """A session of its own: a fresh link from `wif up --console-link`, used once."""
    import requests
    res = subprocess.run([wif, "up", "--state-dir", state, "--console-link"], capture_output=True, text=True, timeout=30)
    link = res.stdout.strip()
    check("wif up --console-link prints a fresh link (one line)", res.returncode == 0 and LINK.fullmatch(link), (res.returncode, res.stdout, res.stderr))
    if not LINK.fullmatch(link):
        return None
    session = requests.Session()
    session.trust_env, session.verify = False, http.verify
    r = session.get(link, allow_redirects=False, timeout=30)
    cookie = r.headers.get("set-cookie", "")
    attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
    check("the link: 303 to /_console/, Set-Cookie wif_console; Path=/_console; HttpOnly; Secure; SameSite=Strict",
          r.status_code == 303 and r.headers.get("location") in ("/_console/", base + "/_console/") and cookie.startswith("wif_console=")
          and {"path=/_console", "httponly", "secure", "samesite=strict"} <= attributes, (r.status_code, r.headers))
    again = http.get(link, allow_redirects=False, timeout=30)
    check("the same link again: 401", again.status_code == 401 and names_no_id(again.text), (again.status_code, again.text[:300]))
    return session


def with_session(http, session, base):
    """Writes need the session's csrf value and no foreign Origin; the Host rule holds for a session too."""
    page = session.get(f"{base}/_console/credentials/new?parent={APP}", timeout=30)
    csrf = inputs_of(page.text).get("csrf", "")
    check("the add-credential form: 200, a csrf field", page.status_code == 200 and csrf, (page.status_code, page.text[:300]))
    form = {"parent": APP, "scenario": "other", "issuer": "https://token.actions.githubusercontent.com",
            "subject": "repo:contoso/orders:ref:refs/heads/main", "name": "ci-github", "description": "made by requests",
            "audience": "api://AzureADTokenExchange"}
    row = f'id="fic-{APP}-ci-github"'
    for what, data, headers in (("without csrf", form, {}), ("with a wrong csrf", dict(form, csrf="A" * len(csrf or "x")), {}),
                                ("from another Origin", dict(form, csrf=csrf), {"Origin": "https://example.com"}),
                                ("from another port's Origin", dict(form, csrf=csrf), {"Origin": "https://127.0.0.1:1"})):
        r = session.post(f"{base}/_console/credentials", data=data, headers=headers, allow_redirects=False, timeout=30)
        check(f"POST /_console/credentials {what}: 403", r.status_code == 403, (r.status_code, r.text[:300]))
    listed = session.get(f"{base}/_console/identities", timeout=30).text
    check("and nothing changed", row not in listed, "the credential was made")
    r = session.post(f"{base}/_console/credentials", data=dict(form, csrf=csrf), headers={"Origin": base}, allow_redirects=False, timeout=30)
    check("with the csrf and its own Origin: 303 to the new row (scenario Other issuer, a free subject)",
          r.status_code == 303 and r.headers.get("location", "").endswith(f"/_console/identities#fic-{APP}-ci-github"),
          (r.status_code, r.headers.get("location"), r.text[:300]))
    listed = session.get(f"{base}/_console/identities", timeout=30).text
    check("it is listed with its subject", row in listed and "repo:contoso/orders:ref:refs/heads/main" in listed, listed[:300])
    r = session.post(f"{base}/_console/credentials/delete", data={"parent": APP, "name": "ci-github"}, allow_redirects=False, timeout=30)
    check("Delete without csrf: 403", r.status_code == 403, (r.status_code, r.text[:300]))
    r = session.post(f"{base}/_console/credentials/delete", data={"parent": APP, "name": "ci-github", "csrf": csrf},
                     allow_redirects=False, timeout=30)
    check("Delete with it: 303 to /_console/identities", r.status_code == 303
          and r.headers.get("location", "").split("#")[0] in ("/_console/identities", f"{base}/_console/identities"), (r.status_code, r.headers))
    check("and it is gone", row not in session.get(f"{base}/_console/identities", timeout=30).text)

    # Entra's 20 credentials per parent: the browser's two and 18 more, then one too many.
    more = [f"batch-{i:02}" for i in range(18)]
    made = [session.post(f"{base}/_console/credentials", allow_redirects=False, timeout=30,
                         data=dict(form, csrf=csrf, name=n, subject=f"repo:contoso/orders:environment:{n}")).status_code for n in more]
    check("18 more credentials (20 in all): each 303", made == [303] * len(more), made)
    r = session.post(f"{base}/_console/credentials", allow_redirects=False, timeout=30,
                     data=dict(form, csrf=csrf, name="one-too-many", subject="repo:contoso/orders:environment:one-too-many"))
    check("a 21st: 400, the form again with Entra's refusal in role=alert, the name as typed",
          r.status_code == 400 and 'role="alert"' in r.text and inputs_of(r.text).get("name") == "one-too-many", (r.status_code, r.text[:300]))
    gone = [session.post(f"{base}/_console/credentials/delete", data={"parent": APP, "name": n, "csrf": csrf}, allow_redirects=False,
                         timeout=30).status_code for n in more]
    check("and the 18 deleted again", gone == [303] * len(more), gone)

    port = base.rsplit(":", 1)[1]
    # requests picks cookies by the Host header's name: the session's goes in by hand.
    cookie = f"wif_console={session.cookies.get('wif_console', path='/_console')}"
    for host, want in ((f"localhost:{port}", 200), (f"[::1]:{port}", 200), ("example.com", 404), (f"wif.example.com:{port}", 404)):
        r = http.get(f"{base}/_console/", headers={"Host": host, "Cookie": cookie}, allow_redirects=False, timeout=30)
        check(f"with the session, Host: {host} is {want}", r.status_code == want, (r.status_code, r.text[:200]))
    with session.get(f"{base}/_console/exchanges/events", stream=True, timeout=30) as r:
        check("with the session, the event stream: 200 text/event-stream",
              r.status_code == 200 and r.headers.get("content-type", "").startswith("text/event-stream"), (r.status_code, r.headers))
    r = session.get(f"{base}/_console/resources", timeout=30)
    check("resources: the secret's name, not its value", SECRET in r.text and SECRET_VALUE not in r.text, r.text[:300])

    r = session.post(f"{base}/_console/logout", data={}, allow_redirects=False, timeout=30)
    check("logout without csrf: 403", r.status_code == 403, r.status_code)
    r = session.post(f"{base}/_console/logout", data={"csrf": csrf}, allow_redirects=False, timeout=30)
    after = session.get(base + r.headers.get("location", "/_console/").replace(base, ""), allow_redirects=False, timeout=30) \
        if r.status_code == 303 else None
    check("logout: 303 to a page saying Logged out", after is not None and "Logged out" in after.text,
          (r.status_code, after is not None and after.text[:300]))
    r = session.get(f"{base}/_console/identities", allow_redirects=False, timeout=30)
    check("the ended session's cookie: 401", r.status_code == 401 and names_no_id(r.text), (r.status_code, r.text[:300]))


def browser(node_modules, tmp, guard_log, env):
    """scripts/interop_console.cjs under Node with the loopback guard; its check lines, counted."""
    for name in os.listdir(SHOTS) if os.path.isdir(SHOTS) else ():
        if name.endswith(".png"):
            os.remove(os.path.join(SHOTS, name))
    full = dict(env, PATH=os.environ["PATH"], HOME=tmp, NODE_PATH=node_modules, LOOPBACK_GUARD_LOG=guard_log,
                WIF_CONSOLE_SCREENSHOTS=SHOTS)
    stderr = open(os.path.join(tmp, "browser.log"), "w+")
    proc = subprocess.Popen(["node", "--require", os.path.join(GUARD, "guard.cjs"), os.path.join(HERE, "interop_console.cjs")],
                            stdout=subprocess.PIPE, stderr=stderr, text=True, env=full, start_new_session=True)
    # Every wait in the script is bounded; this bounds the whole run too.
    watchdog = threading.Timer(600, lambda: os.killpg(proc.pid, signal.SIGKILL))
    watchdog.start()
    finished = False
    for line in proc.stdout:
        line = line.rstrip("\n")
        print(line, flush=True)
        if line.startswith("FAILED: "):
            common.failures += 1
        finished = finished or line == "interop_console.cjs: finished"
    code = proc.wait()
    watchdog.cancel()
    stderr.seek(0)
    check("the browser run finished (scripts/interop_console.cjs)", finished, f"exit {code}: {stderr.read()[-1500:]}")
    shots = {f"{p}-{w}.png": w for p in PAGES for w in (1280, 390)}
    wrong = {n: png_width(os.path.join(SHOTS, n)) if os.path.exists(os.path.join(SHOTS, n)) else None
             for n, w in shots.items() if not os.path.exists(os.path.join(SHOTS, n)) or png_width(os.path.join(SHOTS, n)) != w}
    check(f"a screenshot of each page at 1280 and 390 px in {os.path.relpath(SHOTS, ROOT)}/", not wrong, wrong)


def main():
    wif, az, node_modules = (os.path.abspath(a) for a in sys.argv[1:4])
    tmp = tempfile.mkdtemp(prefix="wif-console-")
    state = os.path.join(tmp, "state")
    config = os.path.join(tmp, "up.yaml")
    guard_log = os.path.join(tmp, "left-loopback.log")
    with open(config, "w") as f:
        f.write(CONFIG)
    guard_this_process(guard_log)
    import requests

    proc, banner = up(wif, state, config, os.path.join(tmp, "wif-up.log"))
    try:
        links = LINK.findall(banner)
        check("wif up's banner carries one console login link", len(links) == 1,
              "no console login link in the banner: " + " | ".join(banner.splitlines()[-8:]))
        if len(links) != 1:
            return
        ca = os.path.join(state, "ca.pem")
        sts_port = json.load(open(os.path.join(state, "state.json")))["stsPort"]
        check("the link is on the emulator's listener", links[0].startswith(f"https://127.0.0.1:{sts_port}/_console/login?token="),
              (links[0], sts_port))
        port = int(links[0].split(":")[2].split("/")[0])
        base = f"https://127.0.0.1:{port}"
        issuer = re.search(r"issuer (https://127\.0\.0\.1:\d+/)", banner).group(1)
        http = requests.Session()
        http.trust_env, http.verify = False, ca
        without_session(http, base)

        printed = subprocess.run([wif, "up", "--state-dir", state, "--print-env", "--service-account", f"{NAMESPACE}/{SA}"],
                                 capture_output=True, text=True, timeout=30)
        variables = exports(printed.stdout)
        check(f"wif up --print-env --service-account {NAMESPACE}/{SA}: its token file, no AZURE_CLIENT_ID",
              printed.returncode == 0 and variables.get("AZURE_FEDERATED_TOKEN_FILE", "").endswith(f"/tokens/{NAMESPACE}/{SA}")
              and "AZURE_CLIENT_ID" not in variables, printed)
        # The workload as its container would run it: exactly those variables and the app's client id.
        workload = {"argv": [wif, "token", "get", "--scope", "https://management.azure.com/.default", "--output", "json"],
                    "env": dict(variables, PATH=os.environ["PATH"], HOME=tmp, AZURE_CLIENT_ID=APP)}
        browser(node_modules, tmp, guard_log, {
            "WIF_CONSOLE_BASE": base, "WIF_CONSOLE_LOGIN": links[0], "WIF_CONSOLE_SPKI": leaf_spki(port, ca),
            "WIF_CONSOLE_TENANT": TENANT, "WIF_CONSOLE_APP": APP, "WIF_CONSOLE_APP_NAME": APP_NAME, "WIF_CONSOLE_APP_OID": APP_OID,
            "WIF_CONSOLE_ISSUER": issuer, "WIF_CONSOLE_NAMESPACE": NAMESPACE, "WIF_CONSOLE_TYPO": TYPO,
            "WIF_CONSOLE_SERVICE_ACCOUNT": SA, "WIF_CONSOLE_SCOPE": SCOPE, "WIF_CONSOLE_ROLE": ROLE, "WIF_CONSOLE_VAULT": VAULT,
            "WIF_CONSOLE_SECRET": SECRET, "WIF_CONSOLE_SECRET_VALUE": SECRET_VALUE, "WIF_CONSOLE_STORAGE_ACCOUNT": ACCOUNT,
            "WIF_CONSOLE_CONTAINER": CONTAINER, "WIF_CONSOLE_BLOB": BLOB, "WIF_CONSOLE_WORKLOAD": json.dumps(workload)})

        # azure-cli, set up as wif up prints, sees what the browser wrote.
        setup = subprocess.run([wif, "up", "--state-dir", state, "--print-az-setup"], capture_output=True, text=True,
                               timeout=30).stdout
        az_env = {"PATH": os.path.dirname(az) + ":" + os.environ["PATH"], "HOME": tmp, "PYTHONPATH": GUARD,
                  "LOOPBACK_GUARD_LOG": guard_log}
        lines = "\n".join(l for l in setup.splitlines() if l.startswith("export "))

        def shell(script):
            res = subprocess.run(["bash", "-c", f"set -euo pipefail\n{lines}\ncd {tmp}\n{script}"], capture_output=True,
                                 text=True, env=az_env, timeout=600)
            return res.returncode, res.stdout.strip(), res.stderr.strip()

        rc, out, err = shell(setup.replace("\naz login", "\naz login --output none"))
        check("azure-cli: cloud registered, az login --federated-token as wif up prints", rc == 0, err)
        rc, out, err = shell(f"az role assignment list --scope '{SCOPE}' --query '[].[roleDefinitionName, principalId]' -o tsv")
        check(f"az role assignment list --scope (the vault): {ROLE} for the app's service principal, made in the browser",
              rc == 0 and f"{ROLE}\t{APP_OID}" in out.splitlines(), (out, err))
        rc, out, err = shell(f"az role assignment list --assignee {APP_OID} --all --query '[].[roleDefinitionName, scope]' -o tsv")
        check("az role assignment list --assignee --all: that one", rc == 0 and out.splitlines() == [f"{ROLE}\t{SCOPE}"], (out, err))
        sts = f"https://127.0.0.1:{sts_port}"
        credentials = f"'{sts}/v1.0/applications/{APP}/federatedIdentityCredentials'"
        rc, out, err = shell(f"az rest --method get --url {credentials} --resource '{sts}/' --query 'value[].[name, subject]' -o tsv")
        check("az rest (Graph) lists the credentials made in the browser",
              rc == 0 and sorted(out.splitlines()) == sorted(f"{n}\t{s}" for n, s in BROWSER_CREDENTIALS.items()), (out, err))

        session = login(http, wif, state, base)
        if session is not None:
            with_session(http, session, base)
        rc, out, err = shell(f"az rest --method get --url {credentials} --resource '{sts}/' --query 'value[].name' -o tsv")
        check("az rest (Graph): the credential made and deleted with requests is gone, the browser's stay",
              rc == 0 and sorted(out.splitlines()) == sorted(BROWSER_CREDENTIALS), (out, err))
    finally:
        down(proc)
        res = subprocess.run([wif, "up", "--state-dir", state, "--console-link"], capture_output=True, text=True, timeout=30)
        check("wif up --console-link with no wif up running: an error", res.returncode != 0 and not LINK.search(res.stdout),
              (res.returncode, res.stdout, res.stderr))
        left = open(guard_log).read() if os.path.exists(guard_log) else ""
        check("no client tried to leave loopback", left == "", left)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001  (a crash is a failure, counted and said)
        check("the run", False, repr(e))
    print(f"interop_console: {common.failures} failure(s)")
    sys.exit(1 if common.failures else 0)
