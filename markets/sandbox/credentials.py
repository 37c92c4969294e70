"""The credentials the sandbox accepts, and that the app uses when the sandbox stands in.

The Walmart RSA key is generated once and kept under DEALAGENT_HOME, so a separately run
`dealagent sandbox` and the server agree on it."""

import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.config import Settings

FIXED = {
    # The sandbox speaks PA-API 5.0: a Creators API credential would send Amazon searches
    # to Amazon itself.
    "amazon_credential_id": None,
    "amazon_credential_secret": None,
    "amazon_access_key": "AKIASANDBOXDEALAGENT",
    "amazon_secret_key": "sandbox/amazon/secret/key",
    "amazon_partner_tag": "dealagent-20",
    "ebay_client_id": "dealagent-sandbox-PRD",
    "ebay_client_secret": "PRD-sandbox-secret",
    "walmart_consumer_id": "00000000-0000-4000-8000-00000000dea1",
    "walmart_key_version": "1",
    "bestbuy_api_key": "sandboxbestbuykey",
    "target_api_key": "sandboxredskykey",
}


def walmart_key_pem(home: Path) -> str:
    path = home / "sandbox" / "walmart_key.pem"
    if not path.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # the first process to link wins; the others read its key
        tmp.unlink()
    return path.read_text()


def sandbox_settings(settings: Settings) -> Settings:
    """`settings` with the sandbox's credentials for every market."""
    return settings.model_copy(
        update={**FIXED, "walmart_private_key": walmart_key_pem(settings.home)}
    )
