"""Just enough JOSE for the lab: RS256 signing of access tokens, and verification of RS256/PS256 tokens
(client assertions from msal use either, depending on the certificate format)."""

import base64
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding


class JwtError(Exception):
    """The token is malformed or its signature does not verify."""


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JwtError("bad base64url") from exc


def sign_rs256(claims, private_key, headers=None):
    header = {"typ": "JWT", "alg": "RS256", **(headers or {})}
    signing_input = (b64url_encode(json.dumps(header, separators=(",", ":")).encode())
                     + "." + b64url_encode(json.dumps(claims, separators=(",", ":")).encode()))
    signature = private_key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url_encode(signature)


def parse(token):
    """Split and decode without verifying. Returns (header, claims, signing_input, signature)."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3:
        raise JwtError("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError as exc:
        raise JwtError("header or claims are not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("header or claims are not JSON objects")
    return header, claims, (parts[0] + "." + parts[1]).encode("ascii"), b64url_decode(parts[2])


def verify(token, public_key, algorithms=("RS256",)):
    """Return (header, claims) when the signature verifies with public_key."""
    header, claims, signing_input, signature = parse(token)
    alg = header.get("alg")
    if alg not in algorithms:
        raise JwtError(f"algorithm {alg!r} not accepted")
    if alg == "RS256":
        pad = padding.PKCS1v15()
    else:
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    try:
        public_key.verify(signature, signing_input, pad, hashes.SHA256())
    except InvalidSignature as exc:
        raise JwtError("signature does not verify") from exc
    return header, claims
