#!/usr/bin/env python3
"""Writes the seed corpus of the jwt fuzz target (fuzz/corpus/jwt): well-formed tokens with
every header shape the verifier branches on, near misses, JWKS documents and PEM blocks.
Signatures are random bytes: the seeds exercise parsing and key selection, not forgery.
Run from the repository root: python3 fuzz/seed-corpus.py"""
import base64, json, os, hashlib

out = os.path.join(os.path.dirname(__file__), "corpus", "jwt")
os.makedirs(out, exist_ok=True)

def b64(data):
    if isinstance(data, (dict, list)):
        data = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

claims = {"iss": "https://issuer.example/", "sub": "system:serviceaccount:demo:app",
          "aud": ["api://AzureADTokenExchange"], "iat": 1, "nbf": 1, "exp": 2000000000,
          "kubernetes.io": {"namespace": "demo", "serviceaccount": {"name": "app", "uid": "u"}}}
headers = [{"alg": "RS256", "kid": "k"}, {"alg": "ES256"}, {"alg": "ES512", "kid": "x"},
           {"alg": "PS384", "kid": "p"}, {"alg": "none"}, {"alg": "HS256", "kid": "k"},
           {"alg": "RS256", "crit": ["b64"], "b64": False}, {"kid": "no-alg"}, {"alg": 7}]
seeds = []
for i, h in enumerate(headers):
    seeds.append(f"{b64(h)}.{b64(claims)}.{b64(os.urandom(64 if 'ES' in str(h) else 256))}")
seeds += ["", ".", "..", "a.b.c", "a.b.c.d", f"{b64({'alg':'RS256'})}.{b64([1,2])}.",
          f"{b64({'alg':'RS256'})}.{b64(dict(claims, exp='soon'))}.AA",
          f"{b64({'alg':'RS256'})}===.{b64(claims)}.AA", "eyJ" * 50]
seeds.append(json.dumps({"keys": [{"kty": "RSA", "kid": "k", "n": "AQAB", "e": "AQAB"},
                                  {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
                                  {"kty": "oct", "k": "c2VjcmV0"}]}))
seeds.append("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n")
seeds.append("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n")
for seed in seeds:
    data = seed.encode()
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {out}")
