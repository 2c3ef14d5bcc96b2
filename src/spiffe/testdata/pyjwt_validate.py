#!/usr/bin/python3
"""Independent JWT-SVID check: validate a token against a SPIFFE bundle (JWKS) with PyJWT.

usage: pyjwt_validate.py BUNDLE_JSON_FILE TOKEN_FILE AUDIENCE EXPECTED_SUB
exit 0 valid, 1 invalid, 77 PyJWT unavailable.
"""
import json
import sys

try:
    import jwt
except ImportError:
    sys.exit(77)


def main():
    bundle_path, token_path, audience, expected_sub = sys.argv[1:5]
    with open(bundle_path) as f:
        bundle = json.load(f)
    with open(token_path) as f:
        token = f.read().strip()
    header = jwt.get_unverified_header(token)
    if header.get("typ") not in (None, "JWT", "JOSE"):
        print("bad typ", file=sys.stderr)
        return 1
    keys = [k for k in bundle["keys"] if k.get("use") == "jwt-svid" and k.get("kid") == header.get("kid")]
    if len(keys) != 1:
        print("kid not found in bundle", file=sys.stderr)
        return 1
    jwk = jwt.PyJWK(keys[0])
    try:
        claims = jwt.decode(token, key=jwk.key, algorithms=[header["alg"]], audience=audience,
                            options={"require": ["exp", "aud", "sub"]})
    except jwt.PyJWTError as e:
        print("invalid:", e, file=sys.stderr)
        return 1
    if claims["sub"] != expected_sub:
        print("sub mismatch", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
