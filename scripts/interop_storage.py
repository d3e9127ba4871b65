#!/usr/bin/env python3
"""Issue 27's seed-000 scenario on the local Blob Storage data plane, with clients nobody here
wrote: azure-storage-blob's BlobServiceClient with azure-identity's WorkloadIdentityCredential,
through the emulator's CONNECT proxy (HTTPS_PROXY; the blob hosts have no DNS), trusting only
the emulator's CA. Run by scripts/test with the venv's python; argv[1] is the wif binary.

Two tenants, R and W, each with a subscription (callerRole None: an app holds only what is
assigned), a group and a storage account (stwifread in R, stwifwrite in W). Three apps federate
the same issuer and subject, so one projected token file serves all of them: `setup` (Storage
Blob Data Owner on stwifread) makes container `input` and uploads report.csv, a dated CSV under
daily/ and a 10 MiB big.bin in 1 MiB blocks (Put Block, Put Block List); `reader` (Storage Blob
Data Reader on stwifread) downloads, ranges, lists (prefix, delimiter, pages of one) and
compares the big blob's sha256, and is refused an upload (403 AuthorizationPermissionMismatch);
`writer` (Storage Blob Data Contributor on stwifwrite, tenant W) makes container `output`,
uploads, reads back and overwrites, and is refused stwifread (401 InvalidAuthenticationInfo
with the challenge naming tenant R, or 403). Then Storage's codes for an existing blob or
container (409) and a missing one (404). Every client runs in this process behind the loopback
guard (scripts/loopback_guard): nothing may try to leave the machine. Prints one line per
check; exits non-zero if any failed."""
import importlib.util, os, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WIF = os.path.abspath(sys.argv[1])
# The Azure SDK for Go client (scripts/go-client), for seed 000 in the seed's own language.
GO_CLIENT = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
tmp = tempfile.mkdtemp(prefix="wif-storage-")
GUARD_LOG = os.path.join(tmp, "left-loopback.log")
# The loopback guard, loaded before any client library: the other scripts put it on PYTHONPATH
# for their client processes; here the clients run in this very process.
os.environ["LOOPBACK_GUARD_LOG"] = GUARD_LOG
_spec = importlib.util.spec_from_file_location("loopback_guard", os.path.join(HERE, "loopback_guard", "sitecustomize.py"))
_spec.loader.exec_module(importlib.util.module_from_spec(_spec))

import hashlib, json, logging, re, select, shutil, socket, subprocess  # noqa: E402
from xml.etree import ElementTree  # noqa: E402

import requests  # noqa: E402

import interop_common as common  # noqa: E402

# Every HTTP wait is bounded: a request that names no timeout gets 30 s (the SDKs' own
# timeouts, when they set them, stand).
_unbounded_request = requests.Session.request


def _bounded_request(self, method, url, **kwargs):
    kwargs.setdefault("timeout", 30)
    return _unbounded_request(self, method, url, **kwargs)


requests.Session.request = _bounded_request
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError  # noqa: E402
from azure.identity import WorkloadIdentityCredential  # noqa: E402
from azure.storage.blob import BlobPrefix, BlobServiceClient, ContentSettings  # noqa: E402

# The SDKs log every refusal at WARNING or above; the checks below print what matters.
logging.getLogger("azure").setLevel(logging.CRITICAL)
check = common.check

TENANT_R = "aaaaaaaa-0000-4000-8000-00000000000a"
TENANT_W = "bbbbbbbb-0000-4000-8000-00000000000b"
SUB_R = "5ab5c71b-0000-4000-8000-00000000000a"
SUB_W = "5ab5c71b-0000-4000-8000-00000000000b"
SETUP, SETUP_OBJECT = "11111111-0000-4000-8000-000000000001", "0b1ec700-0000-4000-8000-000000000001"
READER, READER_OBJECT = "22222222-0000-4000-8000-000000000002", "0b1ec700-0000-4000-8000-000000000002"
WRITER, WRITER_OBJECT = "33333333-0000-4000-8000-000000000003", "0b1ec700-0000-4000-8000-000000000003"
READ_ACCOUNT, WRITE_ACCOUNT = "stwifread", "stwifwrite"
ROLES = {"reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
         "owner": "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"}
MIB = 1024 * 1024
NAMESPACE, SERVICE_ACCOUNT = "demo", "app"

path = lambda name: os.path.join(tmp, name)
procs = []


def account_scope(subscription, group, account):
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Storage/storageAccounts/{account}"


def directory(issuer):
    fic = {"name": "k8s-demo-app", "issuer": issuer, "subject": f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}",
           "audiences": ["api://AzureADTokenExchange"]}
    app = lambda name, app_id, object_id: {"displayName": name, "appId": app_id, "objectId": object_id,
                                           "federatedIdentityCredentials": [dict(fic)]}
    subscription = lambda sub, tenant, group, account: {
        "subscriptionId": sub, "tenantId": tenant, "callerRole": "None",
        "resourceGroups": [{"name": group, "location": "eastus", "storageAccounts": [{"name": account, "location": "eastus"}]}]}
    assignment = lambda name, scope, role, principal: {
        "name": name, "scope": scope, "roleDefinitionId": f"/subscriptions/{scope.split('/')[2]}/providers/Microsoft.Authorization/roleDefinitions/{ROLES[role]}",
        "principalId": principal, "principalType": "ServicePrincipal"}
    read_scope = account_scope(SUB_R, "rg-read", READ_ACCOUNT)
    write_scope = account_scope(SUB_W, "rg-write", WRITE_ACCOUNT)
    return {
        "tenants": [
            {"tenantId": TENANT_R, "domain": "reading.onmicrosoft.com",
             "applications": [app("setup", SETUP, SETUP_OBJECT), app("reader", READER, READER_OBJECT)]},
            {"tenantId": TENANT_W, "domain": "writing.onmicrosoft.com", "applications": [app("writer", WRITER, WRITER_OBJECT)]},
        ],
        "subscriptions": [subscription(SUB_R, TENANT_R, "rg-read", READ_ACCOUNT),
                          subscription(SUB_W, TENANT_W, "rg-write", WRITE_ACCOUNT)],
        "roleAssignments": [
            assignment("a5519000-0000-4000-8000-000000000001", read_scope, "owner", SETUP_OBJECT),
            assignment("a5519000-0000-4000-8000-000000000002", read_scope, "reader", READER_OBJECT),
            assignment("a5519000-0000-4000-8000-000000000003", write_scope, "contributor", WRITER_OBJECT),
        ],
        "issuers": [{"issuer": issuer, "caFile": "issuer-ca.pem"}],
    }


def start_sts(args, within=30):
    """Starts `wif sts ARGS` and reads its one banner line (bounded): the emulator's URL and
    the CONNECT proxy's, wherever the line names them."""
    proc = common.popen_logged([WIF, "sts", *args], text=True)
    procs.append(proc)
    ready, _, _ = select.select([proc.stdout], [], [], within)
    line = proc.stdout.readline() if ready else ""
    sts = re.search(r"listening on (https://\S+?)[,\s]", line + " ")
    proxy = re.search(r"CONNECT proxy (http://[^\s,;)]+)", line)
    if not (sts and proxy):
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError(f"wif sts did not print its banner within {within} s: {line!r} {common.log_of(proc)}")
    return proc, sts.group(1), proxy.group(1).rstrip("/.")


def describe(e):
    """An exception as the checks print it: its type, the status and Storage's code, the message."""
    if isinstance(e, HttpResponseError) and e.response is not None:
        return f"{type(e).__name__} {e.status_code} {e.error_code}: {str(e)[:600]}"
    return f"{type(e).__name__}: {str(e)[:600]}"


def refusal(call):
    """(status, Storage's error code) of the HttpResponseError `call` raised; (None, what
    happened instead) when it raised nothing or something else."""
    try:
        call()
        return None, "no error"
    except HttpResponseError as e:
        if e.response is None:
            return None, describe(e)
        return e.status_code, e.error_code
    except Exception as e:  # noqa: BLE001  (the check prints it)
        return None, describe(e)


class Failed:
    """What a call raised, in place of its value: false, never equal to a value, and printed
    as the exception (status, Storage's code, message) in the check that reads it."""

    def __init__(self, e):
        self.text = describe(e)

    def __bool__(self):
        return False

    def __repr__(self):
        return self.text


def attempt(call):
    """`call`'s value, or Failed with what it raised."""
    try:
        return call()
    except Exception as e:  # noqa: BLE001  (the check that reads it prints it)
        return Failed(e)


class HeldToken:
    """A credential that answers every request with one token already in hand, as a process
    that cached its token sends it: the SDK cannot follow a challenge into another tenant."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return self.token


try:
    for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                     "NO_PROXY", "no_proxy", "AZURE_CLIENT_SECRET"):
        os.environ.pop(variable, None)
    common.run(WIF, "issuer", "keygen", "--out", path("sa.key"))
    # The issuer URL carries the port it serves on: the kernel picks one, the issuer serves there.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ISSUER = f"https://127.0.0.1:{port}/"
    issuer_proc, _ = common.start(
        WIF, ["issuer", "serve", "--key", path("sa.key"), "--issuer", ISSUER, "--addr", f"127.0.0.1:{port}",
              "--health-addr", "127.0.0.1:0", "--self-signed-ca-out", path("issuer-ca.pem")], "listening on")
    procs.append(issuer_proc)
    with open(path("directory.yaml"), "w") as f:
        json.dump(directory(ISSUER), f, indent=1)  # JSON is YAML
    sts_proc, STS, PROXY = start_sts(["--config", path("directory.yaml"), "--addr", "127.0.0.1:0", "--health-addr",
                                      "127.0.0.1:0", "--self-signed-ca-out", path("ca.pem"), "--vault-proxy-addr",
                                      "127.0.0.1:0"])
    CA = path("ca.pem")
    check("wif sts starts with both tenants, their accounts and assignments, and names its CONNECT proxy",
          STS.startswith("https://127.0.0.1:") and PROXY.startswith("http://127.0.0.1:"), (STS, PROXY))
    # One projected token serves every app (seed 000): the same issuer and subject everywhere.
    TOKEN_FILE = path("token")
    common.run(WIF, "issuer", "mint", "--key", path("sa.key"), "--issuer", ISSUER, "--namespace", NAMESPACE,
               "--service-account", SERVICE_ACCOUNT, "--out", TOKEN_FILE)

    # From here on the clients' environment: the emulator's CA, the blob hosts through the
    # CONNECT proxy, the emulator itself (on loopback) directly.
    os.environ.update(REQUESTS_CA_BUNDLE=CA, HTTPS_PROXY=PROXY, NO_PROXY="127.0.0.1,localhost")
    check("requests sends a blob host's https URL through HTTPS_PROXY, and the emulator's directly",
          requests.utils.get_environ_proxies(f"https://{READ_ACCOUNT}.blob.storage.wif.test/").get("https") == PROXY
          and not requests.utils.get_environ_proxies(f"{STS}/").get("https"),
          (requests.utils.get_environ_proxies(f"https://{READ_ACCOUNT}.blob.storage.wif.test/"), PROXY))

    def credential(tenant, client):
        return WorkloadIdentityCredential(tenant_id=tenant, client_id=client, token_file_path=TOKEN_FILE, authority=STS)

    def service(account, cred, **kwargs):
        # retry_total=0: a refusal shows as it came, at once (Storage's retries wait 15 s and more).
        return BlobServiceClient(f"https://{account}.blob.storage.wif.test", credential=cred, connection_verify=CA,
                                 retry_total=0, **kwargs)

    # --- 1. setup (Storage Blob Data Owner on stwifread) makes the input --------------------------
    setup_requests = []
    setup = service(READ_ACCOUNT, credential(TENANT_R, SETUP), max_single_put_size=4 * MIB, max_block_size=MIB,
                    raw_request_hook=lambda r: setup_requests.append((r.http_request.method, r.http_request.url)))
    report = "".join(f"{i},host-{i % 7},{i * 37 % 1000},{'ok' if i % 5 else 'late'}\n" for i in range(200)).encode()
    report = b"id,host,latency_ms,status\n" + report
    daily = b"day,count\n2026-12-05,42\n"
    big = hashlib.shake_256(b"wif interop storage, seed 000").digest(10 * MIB)
    made = attempt(lambda: setup.create_container("input"))
    check("setup creates container input in stwifread", made and made.container_name == "input", made)
    setup_input = setup.get_container_client("input")
    got = attempt(lambda: setup_input.upload_blob(
        "report.csv", report, content_settings=ContentSettings(content_type="text/csv")))
    check(f"setup uploads input/report.csv ({len(report)} bytes, one Put Blob)", bool(got), got)
    got = attempt(lambda: setup_input.upload_blob("daily/2026-12-05.csv", daily))
    check("setup uploads input/daily/2026-12-05.csv", bool(got), got)
    setup_requests.clear()
    got = attempt(lambda: setup_input.upload_blob("big.bin", big, max_concurrency=4))
    blocks = [u for m, u in setup_requests if m == "PUT" and "comp=block&" in u + "&"]
    lists = [u for m, u in setup_requests if m == "PUT" and "comp=blocklist" in u]
    check("setup uploads the 10 MiB input/big.bin as 10 Put Block (4 at a time) and one Put Block List",
          bool(got) and len(blocks) == 10 and len(lists) == 1,
          (got, len(blocks), len(lists), [(m, u.split("?")[-1]) for m, u in setup_requests][:14]))
    committed = attempt(lambda: setup_input.get_blob_client("big.bin").get_block_list("committed")[0])
    check("Get Block List: 10 committed blocks of 1 MiB",
          committed and [b.size for b in committed] == [MIB] * 10,
          committed and [(b.id, b.size) for b in committed])

    # --- 2. reader (Storage Blob Data Reader on stwifread) reads it ------------------------------
    reader_requests = []
    reader = service(READ_ACCOUNT, credential(TENANT_R, READER), max_single_get_size=4 * MIB, max_chunk_get_size=2 * MIB,
                     raw_request_hook=lambda r: reader_requests.append((r.http_request.method, r.http_request.url)))
    reader_input = reader.get_container_client("input")
    got = attempt(lambda: reader_input.download_blob("report.csv").readall())
    check("reader downloads input/report.csv: the same bytes", got == report, got and got[:200])
    props = attempt(lambda: reader_input.get_blob_client("report.csv").get_blob_properties())
    check("report.csv's properties: size, Content-Type text/csv, BlockBlob",
          props and (props.size, props.content_settings.content_type, props.blob_type.value if props.blob_type else None)
          == (len(report), "text/csv", "BlockBlob"), props and (props.size, props.content_settings.content_type, props.blob_type))
    got = attempt(lambda: reader_input.download_blob("report.csv", offset=100, length=57).readall())
    check("reader downloads a range (offset 100, length 57): those bytes", got == report[100:157], got)
    got = attempt(lambda: [b.name for b in reader_input.list_blobs(name_starts_with="re")])
    check("list_blobs(name_starts_with='re'): report.csv only", got == ["report.csv"], got)
    got = attempt(lambda: [(b.name, b.size) for b in reader_input.list_blobs()])
    check("list_blobs(): the three blobs in name order with their sizes",
          got == [("big.bin", 10 * MIB), ("daily/2026-12-05.csv", len(daily)), ("report.csv", len(report))], got)
    got = attempt(lambda: [b.name for b in reader_input.list_blobs(results_per_page=1)])
    check("list_blobs(results_per_page=1) pages through all three (NextMarker)",
          got == ["big.bin", "daily/2026-12-05.csv", "report.csv"], got)
    bodies = []
    got = attempt(lambda: [(isinstance(i, BlobPrefix), i.name) for i in reader_input.walk_blobs(
        delimiter="/", raw_response_hook=lambda r: bodies.append(r.http_response.text()))])
    # The SDK hands out a page's prefixes before its blobs, whatever order the XML has.
    check("walk_blobs(delimiter='/'): the prefix daily/, then big.bin and report.csv",
          got == [(True, "daily/"), (False, "big.bin"), (False, "report.csv")], got)
    wire = attempt(lambda: [(e.tag, e.findtext("Name")) for e in ElementTree.fromstring(bodies[-1].lstrip("\ufeff")).find("Blobs")])
    check("and on the wire, as Azure writes it: blobs and the prefix interleaved in name order",
          wire == [("Blob", "big.bin"), ("BlobPrefix", "daily/"), ("Blob", "report.csv")], (wire, bodies[-1:]))
    got = attempt(lambda: [(isinstance(i, BlobPrefix), i.name) for i in reader_input.walk_blobs(name_starts_with="daily/", delimiter="/")])
    check("walk_blobs(name_starts_with='daily/', delimiter='/'): the dated CSV", got == [(False, "daily/2026-12-05.csv")], got)
    reader_requests.clear()
    got = attempt(lambda: hashlib.sha256(reader_input.download_blob("big.bin", max_concurrency=4).readall()).hexdigest())
    gets = [u for m, u in reader_requests if m == "GET"]
    check("reader downloads input/big.bin in ranges (4 MiB, then 2 MiB chunks): same sha256",
          got == hashlib.sha256(big).hexdigest() and len(gets) == 4, (got, len(gets)))

    # --- 3. reader may not write ------------------------------------------------------------------
    status, code = refusal(lambda: reader_input.upload_blob("intruder.csv", b"x,y\n"))
    check("reader's upload to stwifread: 403 AuthorizationPermissionMismatch",
          (status, code) == (403, "AuthorizationPermissionMismatch"), (status, code))
    status, code = refusal(lambda: reader_input.get_blob_client("intruder.csv").get_blob_properties())
    check("and nothing was written: 404 BlobNotFound", (status, code) == (404, "BlobNotFound"), (status, code))

    # --- 4. writer (Storage Blob Data Contributor on stwifwrite, tenant W) -------------------------
    writer_cred = credential(TENANT_W, WRITER)
    writer = service(WRITE_ACCOUNT, writer_cred)
    made = attempt(lambda: writer.create_container("output"))
    check("writer (Contributor) creates container output in stwifwrite", bool(made), made)
    writer_output = writer.get_container_client("output")
    result = b"id,host,latency_ms\n" + b"".join(f"{i},host-{i % 7},{i * 37 % 1000}\n".encode() for i in range(0, 200, 5))
    got = attempt(lambda: writer_output.upload_blob("result.csv", result))
    check("writer uploads output/result.csv", bool(got), got)
    got = attempt(lambda: writer_output.download_blob("result.csv").readall())
    check("writer reads output/result.csv back: the same bytes", got == result, got and got[:200])
    again = result + b"200,host-4,400\n"
    got = attempt(lambda: (writer_output.upload_blob("result.csv", again, overwrite=True),
                           writer_output.download_blob("result.csv").readall())[1])
    check("writer overwrites output/result.csv (overwrite=True) and reads the new bytes", got == again, got and got[-40:])

    # --- 5. writer's token at stwifread (the reader's account, another tenant) --------------------
    seen = []
    hook = lambda r: seen.append((r.http_response.status_code, r.http_response.headers.get("x-ms-error-code"),
                                  r.http_response.headers.get("WWW-Authenticate")))
    intruder = service(READ_ACCOUNT, writer_cred, raw_response_hook=hook).get_container_client("input")
    challenge_of_r = f"authorization_uri={STS}/{TENANT_R}/oauth2/authorize"
    try:
        intruder.download_blob("report.csv").readall()
        outcome = ("no error", None)
    except ClientAuthenticationError as e:
        outcome = ("sdk", e) if e.response is None else ("http", e)
    except HttpResponseError as e:
        outcome = ("http", e)
    except Exception as e:  # noqa: BLE001
        outcome = ("other", e)
    first = seen[0] if seen else (None, None, None)
    if outcome[0] == "http":
        e = outcome[1]
        ok = (e.status_code, e.error_code) == (401, "InvalidAuthenticationInfo") or e.status_code == 403
        check(f"writer's WorkloadIdentityCredential at stwifread: refused, {e.status_code} {e.error_code}", ok, describe(e))
    else:
        # The SDK follows a 401's challenge: it asks the credential for a token of the tenant the
        # challenge names, and a credential of tenant W refuses to act in tenant R.
        e = outcome[1]
        ok = (outcome[0] == "sdk" and first[:2] == (401, "InvalidAuthenticationInfo")
              and challenge_of_r in (first[2] or "") and "resource_id=https://storage.azure.com" in (first[2] or "")
              and TENANT_R in str(e))
        check("writer's WorkloadIdentityCredential at stwifread: refused, 401 InvalidAuthenticationInfo whose challenge "
              "names tenant R; the credential (tenant W) will not follow it", ok, (seen, describe(e) if e else outcome))
    held = attempt(lambda: writer_cred.get_token("https://storage.azure.com/.default"))
    check("writer gets a storage token in tenant W", bool(held), held)
    if held:
        seen.clear()
        status, code = refusal(lambda: service(READ_ACCOUNT, HeldToken(held), raw_response_hook=hook)
                               .get_container_client("input").download_blob("report.csv").readall())
        check(f"writer's token held as is at stwifread: refused, {status} {code}",
              (status, code) == (401, "InvalidAuthenticationInfo") or status == 403, (status, code, seen))
        if status == 401:
            check("its 401 carries Storage's challenge: tenant R's authorize URI and resource_id",
                  len(seen) == 2 and all(challenge_of_r in (s[2] or "") and "resource_id=https://storage.azure.com" in (s[2] or "")
                                         for s in seen), seen)
        status, code = refusal(lambda: service(READ_ACCOUNT, HeldToken(held)).get_container_client("input")
                               .upload_blob("from-w.csv", b"a\n"))
        check(f"nor may it write there: {status} {code}",
              (status, code) == (401, "InvalidAuthenticationInfo") or status == 403, (status, code))

    # --- 6. Storage's codes for what exists and what does not ------------------------------------
    status, code = refusal(lambda: setup_input.upload_blob("report.csv", b"replaced\n", overwrite=False))
    check("upload_blob(overwrite=False) on an existing blob: 409 BlobAlreadyExists", (status, code) == (409, "BlobAlreadyExists"),
          (status, code))
    got = attempt(lambda: reader_input.download_blob("report.csv").readall())
    check("and the blob is unchanged", got == report, got and got[:80])
    status, code = refusal(lambda: setup.create_container("input"))
    check("create_container on an existing container: 409 ContainerAlreadyExists",
          (status, code) == (409, "ContainerAlreadyExists"), (status, code))
    status, code = refusal(lambda: reader.get_container_client("nosuch").download_blob("report.csv").readall())
    check("a blob of a missing container: 404 ContainerNotFound", (status, code) == (404, "ContainerNotFound"), (status, code))
    status, code = refusal(lambda: [b for b in reader.get_container_client("nosuch").list_blobs()])
    check("listing a missing container: 404 ContainerNotFound", (status, code) == (404, "ContainerNotFound"), (status, code))
    status, code = refusal(lambda: reader_input.download_blob("missing.csv").readall())
    check("a missing blob: 404 BlobNotFound", (status, code) == (404, "BlobNotFound"), (status, code))
    status, code = refusal(lambda: writer_output.download_blob("report.csv").readall())
    check("a blob of the other account is not in this one: 404 BlobNotFound", (status, code) == (404, "BlobNotFound"), (status, code))

    # --- 6b. seed 000 in Go, as the seed writes it: azblob with WorkloadIdentityCredential -----
    if GO_CLIENT:
        go_env = {"PATH": os.environ.get("PATH", ""), "HOME": tmp, "SSL_CERT_FILE": CA, "HTTPS_PROXY": PROXY,
                  "NO_PROXY": "127.0.0.1,localhost", "AZURE_AUTHORITY_HOST": STS,
                  "AZURE_FEDERATED_TOKEN_FILE": TOKEN_FILE}
        res = subprocess.run([GO_CLIENT, "blobs", f"https://{READ_ACCOUNT}.blob.storage.wif.test",
                              f"https://{WRITE_ACCOUNT}.blob.storage.wif.test", f"{TENANT_R}:{READER}",
                              f"{TENANT_W}:{WRITER}"], capture_output=True, text=True, env=go_env, timeout=120)
        steps = {}
        for line in res.stdout.splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                steps[entry.get("step")] = entry
        detail = (res.returncode, res.stdout[-800:], res.stderr[-800:])
        check("Go azblob: the reader (tenant R) reads input/report.csv, the same bytes",
              res.returncode == 0 and steps.get("read", {}).get("sha256") == hashlib.sha256(report).hexdigest(), detail)
        check("Go azblob: the reader's write is 403 AuthorizationPermissionMismatch",
              steps.get("reader-write") == {"step": "reader-write", "status": 403,
                                            "error_code": "AuthorizationPermissionMismatch"}, detail)
        check("Go azblob: the writer (tenant W) writes output/result.csv in its own account",
              steps.get("write") == {"step": "write", "status": 201}, detail)
        check("Go azblob: the writer at the reader's account is 401 InvalidAuthenticationInfo",
              steps.get("writer-at-reader") == {"step": "writer-at-reader", "status": 401,
                                                "error_code": "InvalidAuthenticationInfo"}, detail)

    got = attempt(lambda: requests.get(f"{STS}/{TENANT_R}/discovery/v2.0/keys").status_code)
    check("the emulator still serves after all of that", got == 200, got)
finally:
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()

# --- 7. nothing tried to leave loopback -----------------------------------------------------------
left = open(GUARD_LOG).read() if os.path.exists(GUARD_LOG) else ""
check("no client tried to leave loopback (no DNS for the blob hosts, no direct connection)", left == "", left)
shutil.rmtree(tmp, ignore_errors=True)
print(f"interop_storage: {common.failures} failure(s)")
sys.exit(1 if common.failures else 0)
