"""`dealagent serve` as a real child process on a free port, with no DATABASE_URL: its
embedded PostgreSQL lives under a scratch DEALAGENT_HOME, which these helpers watch."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def scratch_home() -> Iterator[Path]:
    """Outside pytest's tmp_path: another pytest run resets /tmp/pytest-of-* to 0700, which
    shuts out the embedded server's own system user."""
    with tempfile.TemporaryDirectory(prefix="dealagent-home-") as scratch:
        yield Path(scratch)


def start_serve(
    home: Path, port: int, *options: str, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """`env`: settings for the child (DATABASE_URL and SANDBOX_URL are not inherited). Its
    output goes to home/serve.log (a pipe nobody reads would fill up and stall it)."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SANDBOX_URL")}
    child_env = {
        **inherited,
        "DEALAGENT_HOME": str(home / "home"),
        "SANDBOX_PORT": "0",  # any free port: several runs share this machine
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), *options],
        env=child_env,
        cwd=home,
        stdout=(home / "serve.log").open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def serve_output(home: Path) -> str:
    return (home / "serve.log").read_text()


def stop_serve(proc: subprocess.Popen, home: Path) -> str:
    """SIGTERM, then its output once it has exited."""
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    return serve_output(home)


def wait_for_health(url: str, proc: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else "(in its log file)"
            raise AssertionError(f"serve exited early:\n{output}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("no answer from /healthz")


def embedded_postgres(home: Path) -> list[psutil.Process]:
    """The PostgreSQL processes running from `home`."""
    return [p for p in psutil.process_iter(["name", "cmdline"]) if owns(p, home)]


def owns(process: psutil.Process, home: Path) -> bool:
    cmdline = process.info.get("cmdline") or []
    return process.info.get("name") == "postgres" and any(str(home) in arg for arg in cmdline)


def assert_gone(processes: list[psutil.Process], what: str, wait_s: float = 10) -> None:
    deadline = time.monotonic() + wait_s
    while alive := [p for p in processes if p.is_running() and p.status() != "zombie"]:
        assert time.monotonic() < deadline, f"{what} still running after exit: {alive}"
        time.sleep(0.1)
