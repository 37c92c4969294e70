"""AWS Signature Version 4 (the signing Amazon's Product Advertising API 5.0 requires)."""

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def canonical_query(query: Mapping[str, str]) -> str:
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def authorization(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    payload: bytes,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    amz_date: str,
    query: Mapping[str, str] | None = None,
) -> str:
    """The Authorization header value for a request whose `headers` are all signed.

    `amz_date` is the request's x-amz-date (YYYYMMDD'T'HHMMSS'Z').
    """
    canonical = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed = ";".join(sorted(canonical))
    request = "\n".join(
        [
            method,
            quote(path, safe="/-_.~"),
            canonical_query(query or {}),
            "".join(f"{name}:{canonical[name]}\n" for name in sorted(canonical)),
            signed,
            sha256_hex(payload),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, sha256_hex(request.encode())])
    key = signing_key(secret_key, amz_date[:8], region, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    credential = f"Credential={access_key}/{scope}"
    return f"{ALGORITHM} {credential}, SignedHeaders={signed}, Signature={signature}"
