"""The three servers compared, each a child process on a free port against the same
database: the bare floor, the bare LangChain server, and `dealagent serve`. Server CPU is
read from the processes themselves (psutil: user + system, children included), which a
busy shared machine does not skew the way wall-clock throughput is skewed."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.scratch import AUTH_SECRET, Scratch
from tests.monitor_support import stop

ROOT = Path(__file__).resolve().parent.parent
FLOOR, LANGCHAIN, DEALAGENT = "floor", "langchain", "dealagent"
BASELINE = "baseline"  # dealagent from another checkout (--baseline), for before/after


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    kind: str
    proc: subprocess.Popen[bytes]
    url: str

    @property
    def uses_bearer(self) -> bool:
        """dealagent authenticates by token; the reference servers take the user id."""
        return self.kind in (DEALAGENT, BASELINE)

    def processes(self) -> list[psutil.Process]:
        parent = psutil.Process(self.proc.pid)
        return [parent, *parent.children(recursive=True)]

    def cpu_s(self) -> float:
        total = 0.0
        for proc in self.processes():
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        return sum(p.memory_info().rss for p in self.processes() if p.is_running())


def command(kind: str, port: int, database_url: str, workers: int) -> list[str]:
    if kind in (DEALAGENT, BASELINE):
        extra = ["--workers", str(workers)] if workers > 1 else []
        return [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *extra]
    module = "bench.floor_server" if kind == FLOOR else "bench.langchain_server"
    return [sys.executable, "-m", module, "--port", str(port), "--database-url", database_url]


def server_env(scratch: Scratch, database_url: str, root: Path) -> dict[str, str]:
    """dealagent as deployed, minus what would add noise: no in-process monitor (there
    are no goals to check), a rate limit and a log level out of the way."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEALAGENT_HOME": str(scratch.home / "home"),
        "AUTH_SECRET": AUTH_SECRET,
        "CHAT_RATE_LIMIT": "1000000",
        "MONITOR_IN_PROCESS": "false",
        "SANDBOX_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(root),
    }


@contextmanager
def running(
    kind: str,
    scratch: Scratch,
    *,
    database_url: str | None = None,
    workers: int = 1,
    root: Path = ROOT,
) -> Iterator[Server]:
    """The server, started and answering on its port; SIGTERM (then SIGKILL) at the end.
    `database_url`: another address of the scratch database (the statement counter's);
    `root`: the checkout it runs from."""
    url = database_url or scratch.libpq
    port = free_port()
    log = (scratch.home / f"{kind}-{port}.log").open("wb")
    proc = subprocess.Popen(
        command(kind, port, url, workers),
        env=server_env(scratch, url, root),
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(proc, port, scratch.home / f"{kind}-{port}.log")
        yield Server(kind, proc, f"http://127.0.0.1:{port}")
    finally:
        stop(proc)
        log.close()


def wait_for_port(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """uvicorn listens once its start-up (pools, migrations) is done."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited early:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.args} did not listen within 120 s")
