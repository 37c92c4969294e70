"""The in-process sandbox keeps its port (SANDBOX_PORT) across restarts, so stored deal URLs
keep working: a port in use stops start-up with an error naming it, never a silent move."""

import socket
import subprocess

import pytest

from markets.sandbox.embedded import SandboxPortInUse, loopback_socket
from tests.serve_process import free_port, start_serve


def test_a_taken_port_is_an_error_naming_it_and_the_setting():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxPortInUse, match=f"port {port} .*SANDBOX_PORT"):
            loopback_socket(port)


def test_a_restart_gets_the_same_port_back():
    """The first run's closed connections linger in TIME_WAIT on the port: no obstacle."""
    first = loopback_socket(0)
    port = first.getsockname()[1]
    first.listen()
    with socket.create_connection(("127.0.0.1", port)) as client:
        accepted, _ = first.accept()
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.recv(1)
    first.close()
    again = loopback_socket(port)
    assert again.getsockname()[1] == port
    again.close()


def test_serve_does_not_start_when_the_sandbox_port_is_taken(home, database_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        sandbox_port = taken.getsockname()[1]
        env = {"DATABASE_URL": database_url, "SANDBOX_PORT": str(sandbox_port)}
        proc = start_serve(home, free_port(), env=env)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    output = (home / "serve.log").read_text()
    assert proc.returncode != 0, output
    assert f"port {sandbox_port} on 127.0.0.1" in output and "SANDBOX_PORT" in output
