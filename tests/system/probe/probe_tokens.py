#!/usr/bin/env python3
"""Token and DPoP probes of a gateway in `auth.mode: development` with `auth.dpop: allowed`
(tests/system/outside_probe_round2.sh starts it).

The probe signs its own tokens with the development key of the server's data directory (what `planbro token`
signs with), so it can put any claim and header into a token whose signature verifies: overflowing and odd
`exp`/`nbf`/`iat`, odd `aud`/`scope`/HPR claims, embedded keys (`jwk`, `jku`, `x5u`, `x5c`) that must never be used,
`kid` games, zero and DER-encoded signatures. DPoP proofs are signed with a client key of its own and vary `htu`
(case, default port, percent-encoding, query, fragment, userinfo, other paths), `htm`, `iat`, `jti` and the `jwk`.
Every answer must be 200 (a valid request), 401 with a WWW-Authenticate challenge, or 403 — never a 5xx, never a
dropped connection — and the server must stay up.

Usage: probe_tokens.py HOST PORT DEV_KEY_FILE
"""
import base64
import hashlib
import http.client
import json
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

HOST, PORT, KEY_FILE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
BASE = f"http://{HOST}:{PORT}"
FAILURES = []


def fail(name, msg):
    FAILURES.append(f"{name}: {msg}")
    print(f"FAIL {name}: {msg}", flush=True)


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def int_of(b64):
    return int.from_bytes(unb64u(b64), "big")


def load_private(jwk):
    d = int_of(jwk["d"])
    return ec.derive_private_key(d, ec.SECP256R1())


def public_jwk(key):
    n = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}


def thumbprint(jwk):
    canon = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":"))
    return b64u(hashlib.sha256(canon.encode()).digest())


def sign(key, header, claims, raw_sig=None):
    h = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    c = claims if isinstance(claims, str) else json.dumps(claims, separators=(",", ":"))
    signing_input = b64u(h) + "." + b64u(c)
    if raw_sig is None:
        der = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw_sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif raw_sig == "der":
        raw_sig = key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    return signing_input + "." + b64u(raw_sig)


def call(name, path, headers, allowed, method="GET"):
    c = http.client.HTTPConnection(HOST, PORT, timeout=120)
    try:
        c.request(method, path, headers=dict({"Accept": "application/fhir+json"}, **headers))
        r = c.getresponse()
        body = r.read()
        status = r.status
        challenge = r.getheader("WWW-Authenticate")
    except Exception as e:  # noqa: BLE001
        fail(name, f"no answer: {e}")
        return None
    finally:
        c.close()
    if status not in allowed:
        fail(name, f"status {status}, expected one of {sorted(allowed)}; body {body[:300]!r}")
    if status == 401 and not challenge:
        fail(name, "401 without a WWW-Authenticate challenge")
    if status >= 400:
        try:
            oo = json.loads(body)
            if oo.get("resourceType") != "OperationOutcome":
                fail(name, "error body is not an OperationOutcome")
        except ValueError:
            fail(name, f"error body is not JSON: {body[:200]!r}")
    return status


DEV = load_private(json.load(open(KEY_FILE)))
CLIENT = ec.generate_private_key(ec.SECP256R1())
CLIENT_JWK = public_jwk(CLIENT)
NOW = int(time.time())
CLAIMS = {"iss": "planbro-dev", "aud": "planbro-dev", "client_id": "probe", "scope": "user/*.cruds", "jti": "probe",
          "iat": NOW, "nbf": NOW, "exp": NOW + 600, "sub": "hpr-565501872",
          "helseid://claims/hpr/hpr_number": "565501872", "helseid://claims/identity/security_level": "4",
          "helseid://claims/client/claims/orgnr_parent": "974589095"}
HEADER = {"alg": "ES256", "typ": "at+jwt", "kid": "planbro-dev"}


def token(claims_change=None, header_change=None, drop=(), raw_sig=None, key=None):
    c = dict(CLAIMS)
    c["jti"] = b64u(hashlib.sha256(repr((claims_change, header_change, drop, time.monotonic())).encode()).digest()[:12])
    c.update(claims_change or {})
    for k in drop:
        c.pop(k, None)
    h = dict(HEADER)
    h.update(header_change or {})
    return sign(key or DEV, h, c, raw_sig)


def bearer(name, tok, allowed):
    return call(name, "/Patient?_count=1", {"Authorization": f"Bearer {tok}"}, allowed)


def main():
    ok_or_denied = {200, 401, 403}
    denied = {401}
    # The template itself must work, else the probe proves nothing.
    if bearer("template_token", token(), {200}) != 200:
        print("the probe's own token is refused; its claims no longer match the development mode", flush=True)
    big = 2 ** 63 - 1
    claim_cases = {
        "exp_int64_max": ({"exp": big}, ok_or_denied), "exp_int64_min": ({"exp": -(2 ** 63)}, denied),
        "exp_u64": ({"exp": 2 ** 64}, denied), "exp_real_huge": ({"exp": 1e300}, denied),
        "exp_real_fraction": ({"exp": NOW + 600.5}, ok_or_denied), "exp_string": ({"exp": str(NOW + 600)}, denied),
        "exp_bool": ({"exp": True}, denied), "exp_null": ({"exp": None}, denied), "exp_array": ({"exp": [NOW + 600]}, denied),
        "nbf_int64_max": ({"nbf": big}, denied), "nbf_int64_min": ({"nbf": -(2 ** 63)}, ok_or_denied),
        "iat_int64_max": ({"iat": big}, denied), "iat_int64_min": ({"iat": -(2 ** 63)}, ok_or_denied),
        "iat_string": ({"iat": "now"}, denied),
        "aud_array": ({"aud": ["x"] * 500 + ["planbro-dev"]}, ok_or_denied), "aud_object": ({"aud": {"planbro-dev": 1}}, denied),
        "aud_nested": ({"aud": [["planbro-dev"]]}, denied), "aud_empty": ({"aud": []}, denied),
        "iss_number": ({"iss": 1}, denied), "iss_nul": ({"iss": "planbro-dev\u0000x"}, denied),
        "scope_huge": ({"scope": "user/Patient.rs " * 20000}, ok_or_denied | {431}),
        "scope_odd": ({"scope": "user/../Patient.rs patient/*.* system/*.* user/*.crudsx user/.rs /.rs"}, ok_or_denied),
        "scope_array": ({"scope": ["user/*.cruds"]}, ok_or_denied), "scope_number": ({"scope": 1}, ok_or_denied),
        "scope_empty": ({"scope": ""}, ok_or_denied),
        "hpr_number": ({"helseid://claims/hpr/hpr_number": 565501872}, ok_or_denied),
        "hpr_array": ({"helseid://claims/hpr/hpr_number": ["565501872", "1"]}, ok_or_denied),
        "hpr_huge": ({"helseid://claims/hpr/hpr_number": "5" * 10000}, ok_or_denied),
        "hpr_nul": ({"helseid://claims/hpr/hpr_number": "565501872\u0000"}, ok_or_denied),
        "security_level_odd": ({"helseid://claims/identity/security_level": ["4", "3"]}, ok_or_denied),
        "pid_and_hpr": ({"helseid://claims/identity/pid": "13116900216"}, ok_or_denied),
        # A confirmation the gateway cannot check must not turn a sender-constrained token into a bearer token.
        "cnf_odd": ({"cnf": {"jkt": 1}}, denied), "cnf_string": ({"cnf": "x"}, denied),
        "cnf_x5t_odd": ({"cnf": {"x5t#S256": ["a"]}}, denied), "cnf_jwk_only": ({"cnf": {"jwk": CLIENT_JWK}}, denied),
        "cnf_empty": ({"cnf": {}}, denied), "cnf_jkt_empty": ({"cnf": {"jkt": ""}}, denied),
        "cnf_null": ({"cnf": None}, denied),
        "many_claims": ({f"c{i}": i for i in range(20000)}, ok_or_denied | {431}),
        "deep_claim": ({"deep": json.loads("[" * 500 + "]" * 500)}, ok_or_denied),
    }
    for name, (change, allowed) in claim_cases.items():
        bearer(f"claim_{name}", token(change), allowed)
    for name, drop in {"no_exp": ("exp",), "no_iss": ("iss",), "no_aud": ("aud",), "no_sub": ("sub",),
                       "no_hpr": ("helseid://claims/hpr/hpr_number",), "no_scope": ("scope",)}.items():
        bearer(f"claim_{name}", token(drop=drop), ok_or_denied if name in ("no_sub", "no_hpr", "no_scope") else denied)
    header_cases = {
        "embedded_jwk": ({"jwk": CLIENT_JWK}, {200}), "jku": ({"jku": "http://127.0.0.1:1/jwks"}, {200}),
        "x5u": ({"x5u": "http://127.0.0.1:1/x"}, {200}), "x5c": ({"x5c": ["AAAA"]}, {200}),
        "kid_path": ({"kid": "../../dev-signing-key.jwk"}, denied), "kid_nul": ({"kid": "planbro-dev\u0000"}, denied),
        "kid_number": ({"kid": 1}, ok_or_denied), "kid_huge": ({"kid": "k" * 6000}, denied | {431}),
        "typ_dpop": ({"typ": "dpop+jwt"}, denied), "alg_lower": ({"alg": "es256"}, denied),
        "alg_hs256": ({"alg": "HS256"}, denied), "alg_none": ({"alg": "none"}, denied),
        "zip": ({"zip": "DEF"}, ok_or_denied), "b64_false": ({"b64": False}, ok_or_denied),
        "crit_empty": ({"crit": []}, denied),
    }
    for name, (change, allowed) in header_cases.items():
        bearer(f"header_{name}", token(header_change=change), allowed)
    bearer("sig_zero", token(raw_sig=b"\0" * 64), denied)  # CVE-2022-21449 style: r = s = 0
    bearer("sig_der", token(raw_sig="der"), denied)
    bearer("sig_short", token(raw_sig=b"\1" * 63), denied)
    bearer("sig_long", token(raw_sig=b"\1" * 65), denied)
    bearer("sig_other_key", token(key=CLIENT), denied)
    n_order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    bearer("sig_r_is_n", token(raw_sig=n_order.to_bytes(32, "big") + n_order.to_bytes(32, "big")), denied)
    hdr = json.dumps(HEADER)
    bearer("header_dup_alg", sign(DEV, hdr[:-1] + ',"alg":"none"}', CLAIMS), denied)
    bearer("claims_dup_exp", sign(DEV, HEADER, json.dumps(CLAIMS)[:-1] + f',"exp":{big}}}'), denied)
    bearer("claims_not_utf8", sign(DEV, HEADER, "{\"iss\":\"\xff\"}"), denied)
    bearer("claims_trailing", sign(DEV, HEADER, json.dumps(CLAIMS) + " {}"), denied)
    bearer("claims_bom", sign(DEV, HEADER, "\ufeff" + json.dumps(CLAIMS)), denied)

    # DPoP: a token bound to the probe's client key, then proofs with odd htu, htm, iat, jti and jwk.
    jkt = thumbprint(CLIENT_JWK)

    def proof(htu, htm="GET", change=None, header_change=None, key=None, tok=None, drop=()):
        claims = {"jti": b64u(hashlib.sha256(repr((htu, htm, change, time.monotonic())).encode()).digest()[:12]),
                  "htm": htm, "htu": htu, "iat": int(time.time())}
        if tok is not None:
            claims["ath"] = b64u(hashlib.sha256(tok.encode()).digest())
        claims.update(change or {})
        for k in drop:
            claims.pop(k, None)
        h = {"typ": "dpop+jwt", "alg": "ES256", "jwk": CLIENT_JWK}
        h.update(header_change or {})
        return sign(key or CLIENT, h, claims)

    bound = token({"cnf": {"jkt": jkt}})

    def dpop(name, path, htu, allowed, **kw):
        p = proof(htu, tok=bound, **kw)
        return call(name, path, {"Authorization": f"DPoP {bound}", "DPoP": p}, allowed)

    if dpop("dpop_template", "/Patient", f"{BASE}/Patient", {200}) != 200:
        print("the probe's own DPoP proof is refused", flush=True)
    htu_cases = {
        "query_ignored": ("/Patient?_count=1", f"{BASE}/Patient?_count=999", {200}),
        "fragment_ignored": ("/Patient", f"{BASE}/Patient#frag", {200}),
        "scheme_case": ("/Patient", "HTTP://127.0.0.1:%d/Patient" % PORT, {200, 401}),
        "two_ports": ("/Patient", f"{BASE}:80/Patient", denied),  # "host:PORT:80" is not host:PORT
        "path_case": ("/Patient", f"{BASE}/patient", denied),
        "other_path": ("/Patient", f"{BASE}/CarePlan", denied),
        "prefix_path": ("/Patient", f"{BASE}/Pat", denied),
        "longer_path": ("/Patient", f"{BASE}/Patient/x", denied),
        "trailing_slash": ("/Patient", f"{BASE}/Patient/", denied),
        "dot_segments": ("/Patient", f"{BASE}/x/../Patient", {200, 401}),
        "pct_unreserved": ("/Patient", f"{BASE}/%50atient", {200, 401}),
        "pct_slash": ("/Patient/x", f"{BASE}/Patient%2Fx", denied),
        "userinfo": ("/Patient", f"http://evil@127.0.0.1:{PORT}/Patient", denied),
        "other_port": ("/Patient", f"http://127.0.0.1:{PORT + 1}/Patient", denied),
        "other_host": ("/Patient", f"http://localhost:{PORT}/Patient", denied),
        "https": ("/Patient", f"https://127.0.0.1:{PORT}/Patient", denied),
        "relative": ("/Patient", "/Patient", denied),
        "empty": ("/Patient", "", denied),
        "nul": ("/Patient", f"{BASE}/Patient\u0000", denied),
        "huge": ("/Patient", f"{BASE}/Patient?" + "x" * 20000, {200, 401, 431}),
        "backslash": ("/Patient", f"http://127.0.0.1:{PORT}\\Patient", denied),
        "no_scheme_sep": ("/Patient", f"http:127.0.0.1:{PORT}/Patient", denied),
        "ipv6_form": ("/Patient", f"http://[::ffff:127.0.0.1]:{PORT}/Patient", denied),
        "request_pct_encoded": ("/Patient/%2E%2E/Patient", f"{BASE}/Patient/../Patient", {200, 400, 401, 404}),
    }
    for name, (path, htu, allowed) in htu_cases.items():
        dpop(f"htu_{name}", path, htu, allowed)
    other_cases = {
        "htm_lower": dict(htm="get"), "htm_post": dict(htm="POST"), "iat_future": dict(change={"iat": int(time.time()) + 3600}),
        "iat_old": dict(change={"iat": int(time.time()) - 3600}), "iat_int64_max": dict(change={"iat": 2 ** 63 - 1}),
        "iat_int64_min": dict(change={"iat": -(2 ** 63)}), "iat_real": dict(change={"iat": 1e300}),
        "iat_string": dict(change={"iat": "now"}), "jti_huge": dict(change={"jti": "j" * 5000}), "jti_empty": dict(change={"jti": ""}),
        "jti_number": dict(change={"jti": 1}), "no_ath": dict(drop=("ath",)), "ath_other": dict(change={"ath": b64u(b"x" * 32)}),
        "jwk_private": dict(header_change={"jwk": dict(CLIENT_JWK, d="AAAA")}),
        "jwk_off_curve": dict(header_change={"jwk": dict(CLIENT_JWK, y=b64u(b"\1" * 32))}),
        "jwk_short_x": dict(header_change={"jwk": dict(CLIENT_JWK, x=b64u(b"\1" * 3))}),
        "jwk_huge_x": dict(header_change={"jwk": dict(CLIENT_JWK, x="A" * 6000)}),
        "jwk_rsa": dict(header_change={"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}),
        "jwk_missing": dict(header_change={"jwk": None}), "typ_jwt": dict(header_change={"typ": "JWT"}),
        "alg_rs256": dict(header_change={"alg": "RS256"}), "kid_added": dict(header_change={"kid": "planbro-dev"}),
        "other_key": dict(key=ec.generate_private_key(ec.SECP256R1())),
    }
    for name, kw in other_cases.items():
        dpop(f"dpop_{name}", "/Patient", f"{BASE}/Patient", denied | ({200} if name in ("kid_added",) else set()), **kw)
    # A replayed proof: the second use is refused.
    p = proof(f"{BASE}/Patient", tok=bound)
    call("dpop_first_use", "/Patient", {"Authorization": f"DPoP {bound}", "DPoP": p}, {200})
    call("dpop_replay", "/Patient", {"Authorization": f"DPoP {bound}", "DPoP": p}, denied)
    call("dpop_two_headers", "/Patient", {"Authorization": f"DPoP {bound}", "DPoP": p + ", " + p}, denied)
    call("dpop_bound_as_bearer", "/Patient", {"Authorization": f"Bearer {bound}"}, denied)
    call("healthz", "/healthz", {}, {200})
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("all token probes held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
