"""Webhook delivery over real HTTP to a receiver under uvicorn, which checks the signature
itself; failures say whether a retry may help; private addresses and plain http are
refused unless allowed; the connection goes to the address that passed the check."""

import datetime
import socket
import ssl
import time
from decimal import Decimal

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from markets import webhook
from markets.webhook import WebhookFailed, post_webhook, sign
from tests.live_server import serve_in_thread
from tests.webhook_receiver import SILENT_S, Receiver, serving_receiver

SECRET = "a receiver's shared secret"
EVENT = {"type": "price_alert", "title": "Café crème grinder at €80", "price": Decimal("79.99")}


@pytest.fixture(scope="module")
def receiver():
    with serving_receiver(SECRET) as receiver:
        yield receiver


@pytest.fixture(autouse=True)
def fresh(receiver):
    receiver.deliveries.clear()


async def deliver(url: str, *, secret: str = SECRET, timeout_s: float = 5, **options) -> None:
    options.setdefault("allow_private", True)
    async with httpx.AsyncClient() as http:
        await post_webhook(http, url, secret, EVENT, timeout_s=timeout_s, **options)


def test_sign_is_hmac_sha256_hex():
    # RFC 4231, test case 2
    assert sign("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


async def test_a_delivery_is_signed_compact_utf8_json(receiver):
    await deliver(f"{receiver.url}/hook/ok")
    [delivery] = receiver.deliveries
    assert delivery.verified
    expected = '{"type":"price_alert","title":"Café crème grinder at €80","price":"79.99"}'
    assert delivery.body == expected.encode("utf-8")
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["x-dealagent-event"] == "price_alert"


async def test_a_wrong_secret_is_caught_by_the_receiver(receiver):
    with pytest.raises(WebhookFailed) as failed:
        await deliver(f"{receiver.url}/hook/ok", secret="not the receiver's secret")
    assert (str(failed.value), failed.value.retryable) == ("HTTP 401", False)
    assert [d.verified for d in receiver.deliveries] == [False]


@pytest.mark.parametrize(
    ("mode", "status", "retryable"),
    [("fail", 500, True), ("busy", 429, True), ("bad", 400, False), ("moved", 307, False)],
)
async def test_answers_other_than_2xx_fail(receiver, mode, status, retryable):
    with pytest.raises(WebhookFailed) as failed:
        await deliver(f"{receiver.url}/hook/{mode}")
    assert (str(failed.value), failed.value.retryable) == (f"HTTP {status}", retryable)
    assert len(receiver.deliveries) == 1  # a redirect is not followed


async def test_a_receiver_that_never_answers_is_cut_off_at_the_deadline(receiver):
    started = time.monotonic()
    with pytest.raises(WebhookFailed) as failed:
        await deliver(f"{receiver.url}/hook/silent", timeout_s=0.5)
    elapsed = time.monotonic() - started
    assert failed.value.retryable
    assert elapsed < SILENT_S / 3, elapsed  # 0.5 s asked; far from the receiver's 10 s


async def test_a_closed_port_is_a_retryable_connection_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nobody listens once closed
    with pytest.raises(WebhookFailed) as failed:
        await deliver(f"http://127.0.0.1:{port}/hook/ok")
    assert failed.value.retryable and "ConnectError" in str(failed.value)


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("http://{host}/hook/ok", "must be an https:// URL"),
        ("https://localhost:{port}/hook/ok", "localhost is not a public address"),
        ("https://10.0.0.7/hook/ok", "10.0.0.7 is not a public address"),
        ("https://[::1]/hook/ok", "::1 is not a public address"),
        ("ftp://example.com/hook", "must be an https:// URL"),
        ("https://example.com:99999/hook", "is not a URL"),
        ("https://example.com/a\nb", "is not a URL"),
    ],
)
async def test_plain_http_and_private_addresses_are_refused_unless_allowed(receiver, url, needle):
    host = receiver.url.removeprefix("http://")
    url = url.format(host=host, port=host.rsplit(":", 1)[1])
    with pytest.raises(WebhookFailed) as failed:
        await deliver(url, allow_private=False)
    assert needle in str(failed.value) and not failed.value.retryable
    assert receiver.deliveries == []


async def test_a_payload_without_a_type_is_a_programming_error(receiver):
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="type"):
            await post_webhook(
                http, f"{receiver.url}/hook/ok", SECRET, {}, timeout_s=1, allow_private=True
            )
    assert receiver.deliveries == []


def self_signed(name: str, directory) -> tuple[str, str]:
    """A certificate for `name` alone (not for any IP address) and its key, as files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


async def test_https_goes_to_the_checked_address_with_the_name_as_host_and_sni(
    tmp_path, monkeypatch
):
    """hooks.example.test resolves nowhere: the delivery can only arrive by connecting to
    the address the check returned, and TLS verifies the certificate by the name."""
    name = "hooks.example.test"
    cert, key = self_signed(name, tmp_path)
    checked = []

    async def public_address(url: str, trusted: frozenset[str], allow_private: bool) -> str:
        checked.append((url, allow_private))
        return "127.0.0.1"  # as if the name had resolved to a public address

    monkeypatch.setattr(webhook, "public_address", public_address)
    receiver = Receiver(SECRET)
    with serve_in_thread(receiver.app, ssl_certfile=cert, ssl_keyfile=key) as plain:
        port = plain.rsplit(":", 1)[1]
        url = f"https://{name}:{port}/hook/ok"
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=cert)) as http:
            await post_webhook(http, url, SECRET, EVENT, timeout_s=5, allow_private=False)
    assert checked == [(url, False)]
    [delivery] = receiver.deliveries
    assert delivery.verified and delivery.headers["host"] == f"{name}:{port}"
