"""Faults injected while people chat with a real `dealagent serve`: its PostgreSQL killed
and started again, its PostgreSQL stopped (SIGSTOP) for 10 s, its model provider failing.
After each: every user message has a reply or an error, no turn is billed twice or billed
without its reply, and every user's ledger adds up. (A monitor worker killed mid-check:
tests/test_monitor_process.py.)"""

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import psycopg
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.chat_accounts import registered_user
from tests.chat_client import ready_chat, recv, send
from tests.fake_openai import Fail, Text, fake_openai
from tests.serve_process import free_port, start_serve, stop_serve, wait_for_health
from tests.throwaway_cluster import Cluster, throwaway_cluster

USERS = 4
MESSAGES = 5
ASKED = ("what's my balance?", "Show my deals", "help", "List my goals")


async def ask(base_url: str, token: str, client_id: str, text: str) -> str:
    """Send one message until it is answered or refused, reconnecting (and resending the
    same id, as a real client does) whenever the socket or the server fails meanwhile."""
    for _ in range(60):
        try:
            ws, _ = await ready_chat(base_url, token)
            try:
                await send(ws, {"type": "user_message", "id": client_id, "content": text})
                while True:
                    frame = await recv(ws, 60)
                    if frame.get("id") == client_id and frame["type"] == "assistant_message":
                        return "reply"
                    if frame.get("id") == client_id and frame["type"] == "error":
                        return frame["code"]
            finally:
                await ws.close()
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError, AssertionError):
            await asyncio.sleep(0.5)
    raise AssertionError(f"message {client_id} never answered")


async def converse(base_url: str, tokens: list[str]) -> dict[str, str]:
    """Every user sends MESSAGES messages, one after another, all users at once."""

    async def one(token: str) -> dict[str, str]:
        outcome = {}
        for i in range(MESSAGES):
            client_id = uuid.uuid4().hex
            outcome[client_id] = await ask(base_url, token, client_id, ASKED[i % len(ASKED)])
        return outcome

    answers = await asyncio.gather(*(one(token) for token in tokens))
    return {k: v for answered in answers for k, v in answered.items()}


async def during(fault: Callable[[], Awaitable[None]], talk: Awaitable[dict[str, str]]):
    talking = asyncio.ensure_future(talk)
    await asyncio.sleep(0.5)  # under way when the fault strikes
    await fault()
    return await talking


def assert_ledgers_add_up(database_url: str, outcomes: dict[str, str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        twice = conn.execute(
            "SELECT meta_data->>'turn_id' FROM token_transactions "
            "WHERE status = 'completed' AND meta_data ? 'turn_id' "
            "GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
        assert twice == [], "a turn billed twice"
        unanswered = conn.execute(
            "SELECT t.id FROM token_transactions t WHERE t.status = 'completed' "
            "AND t.meta_data ? 'turn_id' AND NOT t.meta_data ? 'failed' AND NOT EXISTS "
            "(SELECT 1 FROM chat_messages m WHERE m.role = 'assistant' "
            " AND m.meta_data->>'turn_id' = t.meta_data->>'turn_id')"
        ).fetchall()
        assert unanswered == [], "a turn billed without its reply"
        replies = dict(
            conn.execute(
                "SELECT meta_data->>'client_message_id', count(*) FROM chat_messages "
                "WHERE role = 'assistant' GROUP BY 1"
            ).fetchall()
        )
        for client_id, outcome in outcomes.items():
            assert replies.get(client_id, 0) == (1 if outcome == "reply" else 0), client_id
        for user_id, balance in conn.execute("SELECT id, token_balance FROM users"):
            history = conn.execute(
                "SELECT balance_before, balance_after, change_amount "
                "FROM token_balance_history WHERE user_id = %s ORDER BY created_at, id",
                (user_id,),
            ).fetchall()
            previous = Decimal(0)
            for before, after, change in history:
                assert before == previous and after == before + change, user_id
                previous = after
            assert previous == balance, user_id


async def serving(home, env: dict[str, str]):
    port = free_port()
    proc = start_serve(home, port, env={"MONITOR_IN_PROCESS": "false", **env})
    base_url = f"http://127.0.0.1:{port}"
    await asyncio.to_thread(wait_for_health, f"{base_url}/healthz", proc)
    tokens = [(await registered_user(base_url)).token for _ in range(USERS)]
    return proc, base_url, tokens


async def run_through(home, cluster: Cluster, fault: Callable[[], Awaitable[None]]) -> None:
    database_url = cluster.database("dealagent")
    proc, base_url, tokens = await serving(home, {"DATABASE_URL": database_url})
    try:
        outcomes = await during(fault, converse(base_url, tokens))
        assert len(outcomes) == USERS * MESSAGES
        assert set(outcomes.values()) <= {"reply", "internal_error", "llm_unavailable"}
        assert "reply" in outcomes.values()
        after = await converse(base_url, tokens[:1])  # and it works again afterwards
        assert set(after.values()) == {"reply"}
    finally:
        stop_serve(proc, home)
    assert_ledgers_add_up(database_url, {**outcomes, **after})


@pytest.mark.once  # its own cluster
async def test_postgres_killed_and_started_again_during_turns(home):
    with throwaway_cluster() as cluster:

        async def kill_and_restart() -> None:
            cluster.signal_all(signal.SIGKILL)
            await asyncio.sleep(1)
            await asyncio.to_thread(cluster.start)

        await run_through(home, cluster, kill_and_restart)


@pytest.mark.once  # its own cluster
async def test_postgres_stopped_for_ten_seconds_during_turns(home):
    with throwaway_cluster() as cluster:

        async def pause() -> None:
            cluster.signal_all(signal.SIGSTOP)
            try:
                await asyncio.sleep(10)
            finally:
                cluster.signal_all(signal.SIGCONT)

        await run_through(home, cluster, pause)


async def test_a_failing_provider_during_turns(home, make_database):
    database_url = make_database()  # serve migrates it; the ledgers checked are these alone
    with fake_openai() as provider:
        provider.play(*[Text("Here you are."), Fail(500)] * (USERS * MESSAGES))
        env = {
            "DATABASE_URL": database_url,
            "OPENAI_API_KEY": "test",
            "OPENAI_BASE_URL": provider.base_url,
            "LLM_MAX_RETRIES": "0",
        }
        proc, base_url, tokens = await serving(home, env)
        try:
            outcomes = await converse(base_url, tokens)
        finally:
            stop_serve(proc, home)
    assert set(outcomes.values()) == {"reply", "llm_unavailable"}
    assert_ledgers_add_up(database_url, outcomes)
