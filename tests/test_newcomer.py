"""A fresh machine: no DATABASE_URL, no configuration. `dealagent serve` starts the embedded
PostgreSQL, migrates, seeds and answers /healthz; it stops the database on exit."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from core.config import Settings
from core.db import create_engine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def home() -> Iterator[Path]:
    """Outside pytest's tmp_path: another pytest run resets /tmp/pytest-of-* to 0700, which
    shuts out the embedded server's own system user."""
    with tempfile.TemporaryDirectory(prefix="dealagent-home-") as scratch:
        yield Path(scratch)


def test_serve_with_no_configuration(home):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DEALAGENT_HOME"] = str(home / "home")
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = wait_for_health(f"http://127.0.0.1:{port}/healthz", proc)
        assert body["database"] == "reachable"
        assert body["revision"] is not None
        postgres = [p for p in psutil.process_iter(["name", "cmdline"]) if owns(p, home)]
        assert postgres, "the embedded server runs from DEALAGENT_HOME"
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    # uvicorn shuts down gracefully, then re-raises SIGTERM: no atexit hooks run after it.
    assert proc.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    deadline = time.monotonic() + 10
    while any(owns(p, home) for p in psutil.process_iter(["name", "cmdline"])):
        assert time.monotonic() < deadline, "embedded PostgreSQL still running after exit"
        time.sleep(0.1)


def owns(process: psutil.Process, home) -> bool:
    cmdline = process.info.get("cmdline") or []
    return process.info.get("name") == "postgres" and any(str(home) in arg for arg in cmdline)


def wait_for_health(url: str, proc: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early:\n{proc.stdout.read()}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response.json()
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("no answer from /healthz")


def test_pool_follows_the_seed_standards(database_url):
    engine = create_engine(Settings(_env_file=None), database_url)
    pool = engine.pool
    assert (pool.size(), pool._max_overflow, pool._recycle, pool._pre_ping) == (20, 5, 3600, True)
