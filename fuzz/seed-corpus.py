#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/TARGET): well-formed inputs of
every shape the code branches on, near misses and truncations. Signatures are random bytes
(the seeds exercise parsing and selection, not forgery); certificates are made here with
`cryptography` (scripts/test's venv has it: target/test-venv/bin/python fuzz/seed-corpus.py).
Seeds are added beside what fuzzing found; nothing is deleted."""
import base64, datetime, glob, hashlib, json, os, urllib.parse

root = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(root)

def write(target, seeds):
    out = os.path.join(root, "corpus", target)
    os.makedirs(out, exist_ok=True)
    for seed in seeds:
        data = seed if isinstance(seed, bytes) else seed.encode()
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
    print(f"{target}: {len(seeds)} seeds")

def b64(data):
    if isinstance(data, (dict, list)):
        data = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

claims = {"iss": "https://oidc.example/", "sub": "system:serviceaccount:demo:app",
          "aud": ["api://AzureADTokenExchange"], "iat": 1, "nbf": 1, "exp": 2000000000,
          "kubernetes.io": {"namespace": "demo", "serviceaccount": {"name": "app", "uid": "u"}}}
headers = [{"alg": "RS256", "kid": "k"}, {"alg": "ES256"}, {"alg": "ES512", "kid": "x"},
           {"alg": "PS384", "kid": "p"}, {"alg": "none"}, {"alg": "HS256", "kid": "k"},
           {"alg": "RS256", "crit": ["b64"], "b64": False}, {"kid": "no-alg"}, {"alg": 7}]
tokens = [f"{b64(h)}.{b64(claims)}.{b64(os.urandom(64 if 'ES' in str(h) else 256))}" for h in headers]

# jwt
jwt = tokens + ["", ".", "..", "a.b.c", "a.b.c.d", f"{b64({'alg':'RS256'})}.{b64([1,2])}.",
                f"{b64({'alg':'RS256'})}.{b64(dict(claims, exp='soon'))}.AA",
                f"{b64({'alg':'RS256'})}.{b64(dict(claims, exp=1e308))}.AA",
                f"{b64({'alg':'RS256'})}===.{b64(claims)}.AA", "eyJ" * 50,
                json.dumps({"keys": [{"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"},
                                     {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
                                     {"kty": "oct", "k": "c2VjcmV0"}, {"kty": "RSA", "kid": 5}]})]
write("jwt", jwt)

# x509
from cryptography import x509 as cx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

def cert(key, names, issuer_key=None, days=3650, ca=False):
    name = cx.Name([cx.NameAttribute(NameOID.COMMON_NAME, names[0] if names else "ca")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    builder = (cx.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(cx.random_serial_number())
               .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=days)))
    if names:
        builder = builder.add_extension(cx.SubjectAlternativeName([cx.DNSName(n) for n in names]), False)
    builder = builder.add_extension(cx.BasicConstraints(ca=ca, path_length=None), True)
    return builder.sign(issuer_key or key, hashes.SHA256())

keys = [rsa.generate_private_key(65537, 2048), ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP384R1()), ec.generate_private_key(ec.SECP521R1())]
x509 = []
for key in keys:
    c = cert(key, ["azure-wi-webhook-webhook-service.ns.svc", "azure-wi-webhook-webhook-service.ns.svc.cluster.local"])
    der = c.public_bytes(serialization.Encoding.DER)
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    x509 += [der, spki, der[: len(der) // 2], spki[:-1],
             c.public_bytes(serialization.Encoding.PEM),
             key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
             key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
             key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())]
    at = der.find(b"\x17\x0d")
    if at >= 0:  # a UTCTime with non-ASCII bytes (the old reader panicked on it)
        x509.append(der[: at + 2] + "é".encode() + der[at + 4 :])
rsa_pkcs1 = keys[0].public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
x509 += [rsa_pkcs1, keys[0].public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
         b"", b"\x30", b"\x30\x84\xff\xff\xff\xff", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
         b"-----BEGIN X-----\n!!!\n-----END X-----\n", b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----\n"]
write("x509", x509)

# admission
def review(version, pod, namespace="demo", uid="u-1"):
    return json.dumps({"apiVersion": f"admission.k8s.io/{version}", "kind": "AdmissionReview",
                       "request": {"uid": uid, "namespace": namespace, "operation": "CREATE", "object": pod}})
labels = {"azure.workload.identity/use": "true"}
pods = [
    {"metadata": {"name": "p", "labels": labels}, "spec": {"serviceAccountName": "app", "containers": [{"name": "c", "image": "i"}]}},
    {"metadata": {"generateName": "p-", "labels": labels, "annotations": {"azure.workload.identity/inject-proxy-sidecar": "true", "azure.workload.identity/proxy-sidecar-port": "8000", "azure.workload.identity/skip-containers": "a;b", "azure.workload.identity/service-account-token-expiration": "3600"}},
     "spec": {"serviceAccountName": "app", "initContainers": [{"name": "i", "image": "i"}], "containers": [{"name": "a", "image": "i", "env": [{"name": "AZURE_CLIENT_ID", "value": "x"}], "volumeMounts": [{"name": "v", "mountPath": "/v"}]}, {"name": "b", "image": "i"}], "volumes": [{"name": "v", "emptyDir": {}}]}},
    {"metadata": {"name": "w", "labels": labels}, "spec": {"os": {"name": "windows"}, "containers": [{"name": "c", "image": "i"}]}},
    {"metadata": {"name": "bad", "labels": labels, "annotations": {"azure.workload.identity/service-account-token-expiration": "99999999999999999999"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
    {"metadata": [], "spec": {"containers": "x"}},
    {"spec": {"containers": [{"name": "c", "env": "x"}]}},
    None, 7, "pod",
]
admission = [review(v, p) for v in ("v1", "v1beta1") for p in pods]
admission += ["", "{}", "[]", '{"request": {}}', review("v1", pods[0], uid="x" * 300), review("v2", pods[0]),
              '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"metadata":{"labels":{"azure.workload.identity/use":"true"}},"spec":{"containers":[{"name":"c"' ]
write("admission", admission)

# token_form
def form(pairs):
    return urllib.parse.urlencode(pairs)
good = [("grant_type", "client_credentials"), ("client_id", "11111111-0000-4000-8000-000000000001"),
        ("scope", "https://vault.azure.net/.default"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", tokens[0])]
token_form = [form(good), form(good + [("client_id", "other")]), form(good + [("scope", "x")]),
              form(good + [("grant_type", "password")]), form(good[:4]), form(good + [("resource", "https://vault.azure.net")]),
              form([(k, v) for k, v in good if k != "scope"] + [("resource", "https://vault.azure.net")]),
              form(good[:4] + [("client_assertion", tokens[0] + "\n")]), form(good[:4] + [("client_secret", "s")]),
              form(good[:4] + [("client_assertion", f"{b64(headers[0])}.{b64(dict(claims, sub='x' * 5000))}.AA")]),
              form(good[:4] + [("client_assertion", f"{b64(headers[0])}.{b64(dict(claims, iss='https://oidc.example'))}.AA")]),
              form(good[:4] + [("client_assertion", f"{b64(headers[0])}.{b64(dict(claims, iss='https://sts.windows.net/t/'))}.AA")]),
              "grant_type=%ZZ", "a=b&&&=c", "x-client-SKU=msal&claims=%7B%7D&" + form(good), ""]
write("token_form", token_form)

# directory
directory = [open(p).read() for p in glob.glob(os.path.join(repo, "crates", "wif-sts", "tests", "fixtures", "*.yaml"))]
directory += [
    "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    domain: contoso.onmicrosoft.com\n    applications:\n      - displayName: reader\n        appId: 11111111-0000-4000-8000-000000000001\n        federatedIdentityCredentials:\n          - { name: k8s, issuer: \"https://oidc.example/\", subject: \"system:serviceaccount:demo:app\", audiences: [api://AzureADTokenExchange] }\n    managedIdentities:\n      - name: id\n        clientId: 22222222-0000-4000-8000-000000000002\n        federatedIdentityCredentials: []\nissuers:\n  - { issuer: \"https://oidc.example/\", caFile: ca.pem }\n  - { issuer: \"https://other/\", jwksFile: jwks.json }\ntokenLifetimeSeconds: 3600\n",
    "tenants: []\n", "tenants:\n  - tenantId: not-a-guid\n", "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    applications:\n      - appId: x\n        federatedIdentityCredentials:\n          - { name: '', issuer: '', subject: '', audiences: [] }\n",
    "a: &a [x, x]\nb: [*a, *a]\n", "", "- 1\n- 2\n", "tenants: {}\n",
    "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    domain: a.example\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    domain: a.example\n",
    "tenants:\n  - tenantId: aaaaaaaa-0000-4000-8000-00000000000a\n    applications:\n      - displayName: x\n        appId: 11111111-0000-4000-8000-000000000001\n        federatedIdentityCredentials:\n          - { name: a, issuer: 'https://i/', subject: s, audiences: [a, b] }\n          - { name: a, issuer: 'https://i/', subject: s, audiences: [a] }\n",
    "issuers:\n  - { issuer: 'http://plain/' }\n  - { issuer: 'https://x/', caFile: /nonexistent/ca.pem }\n",
    "tokenLifetimeSeconds: -5\ntenants: []\n"]
write("directory", directory)

# manifest
manifest = [open(os.path.join(repo, "crates", "wif", "tests", "fixtures", "workloads.yaml")).read()]
manifest += [open(p).read() for p in sorted(glob.glob(os.path.join(repo, "deploy", "base", "*.yaml")))]
manifest += ["apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: p, labels: {azure.workload.identity/use: 'true'}}\n    spec: {containers: [{name: c, image: i}]}\n",
             "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {azure.workload.identity/use: 'true'}}\n        spec: {serviceAccountName: app, containers: [{name: c, image: i}]}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, annotations: {azure.workload.identity/client-id: x}}\n",
             "a: 0644\nb: yes\n---\n---\n", "kind: Deployment\nspec: {template: 5}\n", "kind: Pod\nmetadata: []\n", "{", "- &a x\n- *a\n", ""]
write("manifest", manifest)

imds_paths = ["/metadata/identity/oauth2/token", "/Metadata/identity/oauth2/token/", "/msi/token", "/readyz/x", "/metadata/instance", "/"]
imds_queries = ["api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net", "resource=https://management.azure.com/&client_id=writer",
                "api-version=2019-08-01&resource=r&client_id=11111111-0000-4000-8000-000000000001", "resource=r&object_id=o",
                "resource=r&msi_res_id=/subscriptions/s&mi_res_id=x", "resource=a&resource=b", "resource=%ZZ", "client_id=%01", "", "resource=" + "r" * 1100]
write("imds_query", [f"{p}\n{q}" for p in imds_paths for q in imds_queries[:3]] + [f"/metadata/identity/oauth2/token\n{q}" for q in imds_queries])
applied = """-P OUTPUT ACCEPT
-N AZWI_PROXY_OUTPUT
-N AZWI_PROXY_REDIRECT
-A OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT
-A AZWI_PROXY_OUTPUT -m owner --uid-owner 1501 -j ACCEPT
-A AZWI_PROXY_OUTPUT -j AZWI_PROXY_REDIRECT
-A AZWI_PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 8000
"""
lines = applied.splitlines()
write("iptables_listing", [applied, "", "-P PREROUTING ACCEPT\n", applied.replace("8000", "8001"), applied + lines[3] + "\n",
                           "\n".join(lines[:3]), "-A\n-N\n-A OUTPUT -j AZWI_PROXY_OUTPUT\n", "-A OUTPUT -m tcp -m tcp -j AZWI_PROXY_OUTPUT -j\n",
                           applied.replace(" -m tcp", ""), "-N KUBE-X\n-A OUTPUT -j KUBE-X\n", "-A AZWI_PROXY_OUTPUT -d 1.2.3.4/32/32\n"])

# doctor: the fixtures (manifests, a directory of credentials) and the shapes of credential files
doctor_seeds = [open(f, "rb").read() for f in sorted(glob.glob(os.path.join(repo, "crates/wif/tests/fixtures/doctor/*.yaml")) + sorted(glob.glob(os.path.join(repo, "crates/wif/tests/fixtures/*.yaml"))))]
good = open(os.path.join(repo, "crates/wif-core/src/doctor/tests.rs")).read().split('const GOOD: &str = r#"')[1].split('"#;')[0]
doctor_seeds += [good, good.replace("payments:api-sa", "payment:api-sa"),
                 '[{"name":"f","issuer":"https://oidc.example/","subject":"system:serviceaccount:demo:app","audiences":["api://AzureADTokenExchange"]}]',
                 '{"value":[{"name":"g","issuer":"i","subject":"s","audiences":[],"appId":"a"}]}',
                 "tenants:\n  - tenantId: t\n    applications: [{appId: a, federatedIdentityCredentials: [{issuer: i, subject: s}]}]\n",
                 'apiVersion: v1\nkind: List\nitems: [{kind: Pod, metadata: {labels: {azure.workload.identity/use: "true"}}, spec: {containers: 3}}]\n',
                 "kind: Deployment\nspec: {template: {metadata: {labels: {azure.workload.identity/use: true}}}}\n", ""]
write("doctor", doctor_seeds)

# connect_head: what HTTPS_PROXY clients send the vault proxy, near misses and garbage
write("connect_head", ["CONNECT kv1.vault.wif.test:443 HTTP/1.0\r\nHost: kv1.vault.wif.test:443\r\n\r\n",
                       "CONNECT kv1.vault.wif.test:443 HTTP/1.1\r\n\r\n", "CONNECT a.b.vault.wif.test:443 HTTP/1.1\r\n\r\n",
                       "CONNECT vault.wif.test:443 HTTP/1.1\r\n\r\n", "CONNECT kv1.vault.wif.test HTTP/1.1\r\n\r\n",
                       "CONNECT kv1.vault.wif.test:99999 HTTP/1.1\r\n\r\n", "CONNECT [::1]:443 HTTP/1.1\r\n\r\n",
                       "GET http://example.com/ HTTP/1.1\r\n\r\n", "CONNECT azcliprod.blob.core.windows.net:443 HTTP/1.1\r\n\r\n",
                       "CONNECT  kv1.vault.wif.test:443  HTTP/1.1\r\n\r\n", "CONNECT \u00e9.vault.wif.test:443 HTTP/1.1\r\n\r\n",
                       "kv1.vault.wif.test:8443", ".vault.wif.test:8443", "", b"\xff\xfe\r\n\r\n"])
