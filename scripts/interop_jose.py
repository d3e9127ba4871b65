#!/usr/bin/env python3
"""Cross-checks wif's JOSE layer against implementations nobody here wrote: PyJWT and
cryptography (PyPI). Run by scripts/test with the venv's python; argv[1] is the wif binary.

1. kid: for keys of every type, `wif jwks` gives the kid computed here independently
   (base64url of SHA-256 over the DER SubjectPublicKeyInfo, as kube-apiserver does).
2. Tokens minted by `wif issuer mint` (RS256, ES256, ES384, ES512) verify with PyJWT against
   the JWKS `wif jwks` wrote.
3. Tokens PyJWT signs (RS256/384/512, PS256/384/512, ES256/384/512) verify with
   `wif issuer verify`; an HS256 token keyed with the public key, an `alg: none` token and a
   tampered one are refused.
4. `wif issuer serve` over HTTPS, fetched with Python's own TLS stack and PyJWKClient.
Prints one line per check and exits non-zero if any failed."""
import base64, hashlib, json, os, subprocess, sys, tempfile, time, ssl, urllib.request

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

WIF = sys.argv[1]
failures = 0


def check(name, ok, detail=""):
    global failures
    print(f"{'ok' if ok else 'FAILED'}: {name}{'' if ok else ' -- ' + detail}")
    failures += 0 if ok else 1


def wif(*args, stdin=None):
    return subprocess.run([WIF, *args], input=stdin, capture_output=True, text=True)


def spki_kid(public_key):
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


tmp = tempfile.mkdtemp(prefix="wif-interop-")
path = lambda name: os.path.join(tmp, name)
ISSUER = "https://127.0.0.1:8443/"
AUD = "api://AzureADTokenExchange"

# 1. kid of keys made here, in every PEM shape kube-apiserver accepts.
keys = {
    "rsa2048": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "rsa3072": rsa.generate_private_key(public_exponent=65537, key_size=3072),
    "p256": ec.generate_private_key(ec.SECP256R1()),
    "p384": ec.generate_private_key(ec.SECP384R1()),
    "p521": ec.generate_private_key(ec.SECP521R1()),
}
for name, key in keys.items():
    formats = {
        "spki": key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "pkcs8": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        "traditional": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()),
    }
    if name.startswith("rsa"):
        formats["pkcs1-public"] = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    for fmt, pem in formats.items():
        with open(path(f"{name}.{fmt}.pem"), "wb") as f:
            f.write(pem)
        out = wif("jwks", "--public-keys", path(f"{name}.{fmt}.pem"))
        got = json.loads(out.stdout)["keys"][0]["kid"] if out.returncode == 0 else out.stderr
        check(f"kid of {name} ({fmt}) equals cryptography's", got == spki_kid(key.public_key()), f"{got} != {spki_kid(key.public_key())}")

# 2. Tokens wif mints verify with PyJWT.
for alg in ["RS256", "ES256", "ES384", "ES512"]:
    key_file, token_file = path(f"wif-{alg}.key"), path(f"wif-{alg}.jwt")
    wif("issuer", "keygen", "--out", key_file, "--alg", alg, "--force")
    minted = wif("issuer", "mint", "--key", key_file, "--issuer", ISSUER, "--namespace", "demo",
                 "--service-account", "app", "--pod", "web-0", "--out", token_file)
    jwks = json.loads(wif("jwks", "--public-keys", key_file).stdout)
    token = open(token_file).read()
    try:
        header = jwt.get_unverified_header(token)
        public = jwt.PyJWK(jwks["keys"][0]).key
        claims = jwt.decode(token, public, algorithms=[alg], audience=AUD, issuer=ISSUER)
        ok = (claims["sub"] == "system:serviceaccount:demo:app" and header["kid"] == jwks["keys"][0]["kid"]
              and "typ" not in header and claims["kubernetes.io"]["pod"]["name"] == "web-0")
        check(f"PyJWT verifies a token wif minted with {alg}", ok, json.dumps(claims))
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        check(f"PyJWT verifies a token wif minted with {alg}", False, f"{minted.stderr} {e!r}")

# 3. Tokens PyJWT signs verify with wif; attacks are refused.
now = int(time.time())
claims = {"iss": ISSUER, "sub": "system:serviceaccount:demo:app", "aud": [AUD], "iat": now, "nbf": now, "exp": now + 600}
signers = [("RS256", "rsa2048"), ("RS384", "rsa3072"), ("RS512", "rsa2048"), ("PS256", "rsa2048"), ("PS384", "rsa3072"),
           ("PS512", "rsa3072"), ("ES256", "p256"), ("ES384", "p384"), ("ES512", "p521")]
for alg, name in signers:
    key = keys[name]
    jwks_file = path(f"py-{alg}.jwks")
    out = wif("jwks", "--public-keys", path(f"{name}.spki.pem"), "--output-file", jwks_file)
    jwks = json.load(open(jwks_file))
    # wif's JWK names the algorithm kube-apiserver uses (RS256 for RSA); the PSS/RS384+ cases
    # use a JWK without alg, which accepts every algorithm of its key type.
    if alg not in ("RS256", "ES256", "ES384", "ES512"):
        del jwks["keys"][0]["alg"]
        json.dump(jwks, open(jwks_file, "w"))
    token = jwt.encode(claims, key, algorithm=alg, headers={"kid": spki_kid(key.public_key())})
    res = wif("issuer", "verify", "--jwks", jwks_file, "--token", "-", "--issuer", ISSUER, "--audience", AUD, stdin=token)
    check(f"wif verifies a token PyJWT signed with {alg}", res.returncode == 0 and json.loads(res.stdout)["header"]["alg"] == alg, res.stderr)

rsa_key = keys["rsa2048"]
jwks_file = path("attack.jwks")
wif("jwks", "--public-keys", path("rsa2048.spki.pem"), "--output-file", jwks_file)
public_pem = open(path("rsa2048.spki.pem"), "rb").read()
kid = spki_kid(rsa_key.public_key())
b64 = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
import hmac as _hmac
signing_input = f"{b64({'alg': 'HS256', 'kid': kid})}.{b64(claims)}"
hs = base64.urlsafe_b64encode(_hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
attacks = {
    "HS256 keyed with the public key": (f"{signing_input}.{hs}", "HMAC algorithm HS256 refused"),
    "alg none": (f"{b64({'alg': 'none'})}.{b64(claims)}.", "alg \"none\""),
    "tampered payload": (jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": kid}).split(".")[0] + "." + b64(dict(claims, sub="system:serviceaccount:kube-system:admin")) + "." + jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": kid}).split(".")[2], "signature does not verify"),
    "expired": (jwt.encode(dict(claims, exp=now - 3600), rsa_key, algorithm="RS256", headers={"kid": kid}), "token expired"),
    "wrong issuer": (jwt.encode(dict(claims, iss=ISSUER.rstrip("/")), rsa_key, algorithm="RS256", headers={"kid": kid}), "is not the expected"),
}
for name, (token, expected) in attacks.items():
    res = wif("issuer", "verify", "--jwks", jwks_file, "--token", "-", "--issuer", ISSUER, "--audience", AUD, stdin=token)
    check(f"wif refuses {name}", res.returncode != 0 and expected in res.stderr, res.stderr.strip())

# 4. The HTTPS issuer, fetched with Python's TLS stack and PyJWKClient.
serve_key = path("wif-RS256.key")
proc = subprocess.Popen([WIF, "issuer", "serve", "--key", serve_key, "--issuer", ISSUER, "--addr", "127.0.0.1:0",
                         "--health-addr", "127.0.0.1:0", "--self-signed-ca-out", path("ca.pem")],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    line = proc.stdout.readline()
    base = line.split("listening on ")[1].split()[0]
    context = ssl.create_default_context(cafile=path("ca.pem"))
    discovery = json.load(urllib.request.urlopen(f"{base}/.well-known/openid-configuration", context=context))
    check("discovery over HTTPS names the issuer", discovery["issuer"] == ISSUER, json.dumps(discovery))
    jwks_client = jwt.PyJWKClient(f"{base}/openid/v1/jwks", ssl_context=context)
    token = open(path("wif-RS256.jwt")).read()
    signing_key = jwks_client.get_signing_key_from_jwt(token)
    decoded = jwt.decode(token, signing_key.key, algorithms=["RS256"], audience=AUD, issuer=ISSUER)
    check("PyJWKClient verifies a minted token with the served JWKS", decoded["sub"] == "system:serviceaccount:demo:app")
finally:
    proc.terminate()
    code = proc.wait(timeout=20)
    check("issuer serve exits 0 on SIGTERM", code == 0, f"exit {code}")

import shutil
shutil.rmtree(tmp, ignore_errors=True)
print(f"interop_jose: {failures} failed")
sys.exit(1 if failures else 0)
