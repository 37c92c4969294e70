"""markets/sigv4.py against the official AWS Signature Version 4 test suite (the vectors in
tests/samples/sigv4, from awslabs/aws-c-auth; see tests/samples/SOURCES.md)."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from markets import sigv4

pytestmark = pytest.mark.once  # no database: one CI pass is enough

SUITE = Path(__file__).parent / "samples" / "sigv4"
CASES = sorted(path.name for path in SUITE.iterdir() if path.is_dir())


def parse_request(text: str) -> tuple[str, str, str, list[tuple[str, str]], bytes]:
    """request.txt: the request line, headers (a line starting with whitespace continues
    the one before), a blank line, the body."""
    head, _, body = text.partition("\n\n")
    request_line, *lines = head.split("\n")
    method, _, target = request_line.partition(" ")
    target = target.removesuffix(" HTTP/1.1")
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in filter(None, lines):
        if line[:1].isspace():
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
        else:
            name, _, value = line.partition(":")
            headers.append((name, value))
    return method, path, query, headers, body.encode()


def load(case: str) -> tuple[dict, tuple[str, str, str, list[tuple[str, str]], bytes]]:
    context = json.loads((SUITE / case / "context.json").read_text())
    request = parse_request((SUITE / case / "request.txt").read_text())
    return context, request


def test_the_suite_is_all_there() -> None:
    assert len(CASES) == 38
    assert {
        "get-header-value-multiline",
        "get-slashes-normalized",
        "get-header-key-duplicate",
    } <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_vector(case: str) -> None:
    context, (method, path, query, headers, body) = load(case)
    amz_date = datetime.fromisoformat(context["timestamp"]).strftime("%Y%m%dT%H%M%SZ")
    headers = [*headers, ("X-Amz-Date", amz_date)]
    if context["sign_body"]:
        headers.append(("X-Amz-Content-Sha256", sigv4.sha256_hex(body)))
    credentials = context["credentials"]
    if credentials.get("token") and not context.get("omit_session_token"):
        headers.append(("X-Amz-Security-Token", credentials["token"]))
    signed: dict[str, Any] = {
        "method": method,
        "path": path,
        "query": query,
        "headers": headers,
        "payload": body,
        "normalize": context["normalize"],
    }
    request, _ = sigv4.canonical_request(**signed)
    expected = (SUITE / case / "header-canonical-request.txt").read_text()
    assert request == expected
    to_sign = sigv4.string_to_sign(request, amz_date, context["region"], context["service"])
    assert to_sign == (SUITE / case / "header-string-to-sign.txt").read_text()
    authorization = sigv4.authorization(
        **signed,
        access_key=credentials["access_key_id"],
        secret_key=credentials["secret_access_key"],
        region=context["region"],
        service=context["service"],
        amz_date=amz_date,
    )
    signature = (SUITE / case / "header-signature.txt").read_text().strip()
    assert authorization.endswith(f"Signature={signature}")


def test_repeated_query_keys_are_all_signed_in_order() -> None:
    # Not in the suite: repeated keys sort by value too (as botocore's signer does).
    assert sigv4.canonical_query("b=2&a=z&a=y") == "a=y&a=z&b=2"
    assert sigv4.canonical_query([("a", "z"), ("a", "y")]) == "a=y&a=z"
    assert sigv4.canonical_query("a") == "a="
