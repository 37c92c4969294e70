"""tiktoken works with the network unreachable, from an empty cache."""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # no database: one CI pass is enough


PROBE = textwrap.dedent(
    """
    import socket
    try:
        socket.create_connection(("openaipublic.blob.core.windows.net", 443), timeout=2)
        raise SystemExit("network reachable: the probe proves nothing")
    except OSError:
        pass
    from agent.tokens import count_text, install_offline_cache
    install_offline_cache()
    from langchain_openai import ChatOpenAI
    model = ChatOpenAI(api_key="unused", model="gpt-4o-mini")
    print(count_text("A 27-inch 4K monitor under $300 by Friday"))
    print(model.get_num_tokens("A 27-inch 4K monitor under $300 by Friday"))
    import tiktoken
    print(len(tiktoken.get_encoding("cl100k_base").encode("hello world")))
    """
)

# Without a network namespace, this blocks every socket connection in the child.
BLOCK_SOCKETS = textwrap.dedent(
    """
    import socket
    def refuse(*args, **kwargs):
        raise OSError("network disabled for this test")
    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    """
)


def offline_command(tmp_path: Path) -> list[str]:
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"]).returncode == 0:
        return ["unshare", "-rn", sys.executable, "-c", PROBE]
    (tmp_path / "sitecustomize.py").write_text(BLOCK_SOCKETS)
    return [sys.executable, "-c", PROBE]


def test_tiktoken_counts_with_no_network(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "TIKTOKEN_CACHE_DIR": str(cache),
        "PYTHONPATH": f"{tmp_path}:{Path(__file__).parents[1]}",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        offline_command(tmp_path), env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    ours, langchains, cl100k = (int(line) for line in done.stdout.split())
    assert ours == langchains > 5
    assert cl100k == 2
    assert len(list(cache.iterdir())) == 2  # both BPE files, written from the wheel
