"""Password-reset mail over real SMTP (a local server speaking the protocol), and the
signing secret that outlives a restart."""

import asyncio
import multiprocessing
import re
import stat
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from api.main import create_app
from core.auth import SECRET_FILE, signing_secret
from tests.accounts_client import PASSWORD, bearer, register, signed_up
from tests.live_server import serve_in_thread
from tests.secret_race import RACERS, TRIALS, race_for_the_secret


class SmtpSink:
    """Just enough SMTP to take mail: every DATA block lands in `messages`."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.commands: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        data: list[bytes] | None = None
        while line := await reader.readline():
            if data is not None:
                if line == b".\r\n":
                    self.messages.append(b"".join(data))
                    data = None
                    writer.write(b"250 queued\r\n")
                else:
                    data.append(line)
                continue
            verb = line[:4].upper()
            self.commands.append(verb)
            reply = {b"EHLO": b"250 sink\r\n", b"DATA": b"354 go on\r\n", b"QUIT": b"221 bye\r\n"}
            writer.write(reply.get(verb, b"250 ok\r\n"))
            await writer.drain()
            if verb == b"DATA":
                data = []
            if verb == b"QUIT":
                break
        writer.close()


@pytest.fixture
async def smtp_sink():
    sink = SmtpSink()
    server = await asyncio.start_server(sink.handle, "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    async with server:
        yield sink


async def test_reset_mail_goes_out_over_smtp(settings, smtp_sink):
    mailing = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_sink.port,
            "smtp_starttls": False,
            "mail_from": "deals@example.com",
            "password_reset_url": "https://deals.example/reset",
        }
    )
    with serve_in_thread(create_app(mailing)) as base_url:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as client:
            user = await register(client)
            sent = await client.post("/auth/password-reset/request", json={"email": user["email"]})
            assert sent.status_code == 202
            mail = message_from_bytes(smtp_sink.messages[-1], policy=policy.default)
            assert mail["To"] == user["email"] and mail["From"] == "deals@example.com"
            link = re.search(r"https://deals\.example/reset\?\S+", mail.get_content()).group()
            token = parse_qs(urlparse(link).query)["token"][0]
            body = {"token": token, "new_password": "mailed reset 99"}
            done = await client.post("/auth/password-reset/confirm", json=body)
            assert done.status_code == 200, done.text


async def test_an_unreachable_smtp_server_still_answers_202(settings, caplog):
    broken = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 1})
    with serve_in_thread(create_app(broken)) as base_url:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/v1", timeout=30) as client:
            user = await register(client)
            sent = await client.post("/auth/password-reset/request", json={"email": user["email"]})
    assert sent.status_code == 202
    assert "not sent" in caplog.text


def test_secret_from_settings_or_kept_under_home(settings, tmp_path):
    assert signing_secret(settings.model_copy(update={"auth_secret": "s3cret"})) == "s3cret"
    fresh = settings.model_copy(update={"dealagent_home": tmp_path / "home"})
    first = signing_secret(fresh)
    assert len(first) >= 64 and signing_secret(fresh) == first
    path = tmp_path / "home" / "auth_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = settings.model_copy(update={"dealagent_home": tmp_path / "other"})
    assert signing_secret(other) != first


async def test_tokens_outlive_a_restart(live_server, settings):
    async with httpx.AsyncClient(base_url=f"{live_server}/api/v1", timeout=30) as client:
        _, tokens = await signed_up(client)
    with serve_in_thread(create_app(settings)) as restarted:
        async with httpx.AsyncClient(base_url=f"{restarted}/api/v1", timeout=30) as client:
            assert (await client.get("/me", headers=bearer(tokens))).status_code == 200
            login = {"email": "nobody@example.com", "password": PASSWORD}
            assert (await client.post("/auth/login", json=login)).status_code == 401


def test_processes_starting_together_on_a_fresh_home_agree_on_the_secret(tmp_path):
    # `serve --workers N` on a fresh DEALAGENT_HOME: whoever loses the race to create the
    # file must read the winner's whole secret, never an empty or half-written one.
    spawn = multiprocessing.get_context("spawn")  # no fork of this threaded process
    barrier, results = spawn.Barrier(RACERS), spawn.Queue()
    racers = [
        spawn.Process(target=race_for_the_secret, args=(tmp_path, barrier, results))
        for _ in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    seen: dict[int, set[str]] = {trial: set() for trial in range(TRIALS)}
    for _ in range(RACERS * TRIALS):
        trial, secret = results.get(timeout=60)
        seen[trial].add(secret)
    for racer in racers:
        racer.join(timeout=30)
        assert racer.exitcode == 0
    disagreed = {}
    for trial, secrets in seen.items():
        kept = (tmp_path / str(trial) / SECRET_FILE).read_text().strip()
        if secrets != {kept} or len(kept) < 64:
            disagreed[trial] = secrets
    assert disagreed == {}, f"{len(disagreed)} of {TRIALS} trials disagreed"
    leftovers = [p.name for p in tmp_path.glob("*/*") if p.name != SECRET_FILE]
    assert leftovers == []  # no temporary file left behind
