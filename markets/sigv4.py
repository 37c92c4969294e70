"""AWS Signature Version 4 (the signing Amazon's Product Advertising API 5.0 requires),
checked against the official AWS signing test suite (tests/samples/sigv4)."""

import hashlib
import hmac
import posixpath
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
UNRESERVED = "-_.~"
Pairs = Iterable[tuple[str, str]]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def canonical_path(path: str, *, normalize: bool = True) -> str:
    """The URI-encoded path; with `normalize`, `.`/`..` segments and repeated slashes go."""
    path = path or "/"
    if normalize:
        trailing = path.endswith("/") and path != "/"
        path = posixpath.normpath("/" + path.lstrip("/"))  # normpath keeps a leading "//"
        path = "/" + path.lstrip("/")
        if trailing and path != "/":
            path += "/"
    return quote(path, safe="/" + UNRESERVED)


def _encode(text: str) -> str:
    # Decode first, so a value already percent-encoded is not encoded twice.
    return quote(unquote_to_bytes(text), safe=UNRESERVED)


def canonical_query(query: Mapping[str, str] | Pairs | str) -> str:
    """Every key=value pair (repeated keys kept), encoded, sorted by key and then value."""
    if isinstance(query, str):
        pairs = [
            (key, value)
            for part in query.split("&")
            if part
            for key, _, value in [part.partition("=")]
        ]
    else:
        pairs = list(query.items() if isinstance(query, Mapping) else query)
    return "&".join(f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in pairs))


def canonical_headers(headers: Mapping[str, str] | Pairs) -> dict[str, str]:
    """Lower-cased names; a name sent more than once has its values joined by commas;
    each value trimmed and its runs of whitespace (folded line breaks too) made one space."""
    merged: dict[str, list[str]] = {}
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        merged.setdefault(name.lower().strip(), []).append(" ".join(value.split()))
    return {name: ",".join(merged[name]) for name in sorted(merged)}


def canonical_request(
    *,
    method: str,
    path: str,
    query: Mapping[str, str] | Pairs | str,
    headers: Mapping[str, str] | Pairs,
    payload: bytes,
    normalize: bool = True,
) -> tuple[str, str]:
    """The canonical request and its signed-headers list."""
    canonical = canonical_headers(headers)
    signed = ";".join(canonical)
    request = "\n".join(
        [
            method,
            canonical_path(path, normalize=normalize),
            canonical_query(query),
            "".join(f"{name}:{value}\n" for name, value in canonical.items()),
            signed,
            sha256_hex(payload),
        ]
    )
    return request, signed


def string_to_sign(request: str, amz_date: str, region: str, service: str) -> str:
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    return "\n".join([ALGORITHM, amz_date, scope, sha256_hex(request.encode())])


def authorization(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str] | Pairs,
    payload: bytes,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    amz_date: str,
    query: Mapping[str, str] | Pairs | str = (),
    normalize: bool = True,
) -> str:
    """The Authorization header value for a request whose `headers` are all signed.

    `amz_date` is the request's x-amz-date (YYYYMMDD'T'HHMMSS'Z').
    """
    request, signed = canonical_request(
        method=method,
        path=path,
        query=query,
        headers=headers,
        payload=payload,
        normalize=normalize,
    )
    to_sign = string_to_sign(request, amz_date, region, service)
    key = signing_key(secret_key, amz_date[:8], region, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    credential = f"Credential={access_key}/{scope}"
    return f"{ALGORITHM} {credential}, SignedHeaders={signed}, Signature={signature}"
