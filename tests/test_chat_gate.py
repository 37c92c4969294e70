"""core.chat.TurnGate on a real PostgreSQL: two gates stand for two server processes."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import update

from core import ledger
from core.billing import Quote
from core.chat_gate import LINE_APPLICATION, FactsWanted, TurnGate
from core.db import libpq_url
from core.models import TokenPricing
from tests.factories import make_user


@pytest.fixture
async def gates(database_url: str) -> AsyncIterator[tuple[TurnGate, TurnGate]]:
    pair = (TurnGate(libpq_url(database_url), 3, 30), TurnGate(libpq_url(database_url), 3, 30))
    for gate in pair:
        await gate.open()
    yield pair
    for gate in pair:
        await gate.close()


async def _turn(
    gate: TurnGate,
    user: uuid.UUID,
    name: str,
    log: list[str],
    hold_s: float,
    started: asyncio.Event | None = None,
) -> None:
    """A turn that holds the user's gate for `hold_s` (its work); `started` is set once it
    holds it, for the test to go on from there."""
    async with gate.hold(user):
        log.append(f"{name} start")
        if started is not None:
            started.set()
        await asyncio.sleep(hold_s)
        log.append(f"{name} end")


async def holding(
    gate: TurnGate, user: uuid.UUID, name: str, log: list[str], hold_s: float
) -> asyncio.Task[None]:
    """A turn started in the background, once it holds the gate."""
    started = asyncio.Event()
    task = asyncio.create_task(_turn(gate, user, name, log, hold_s, started))
    await asyncio.wait_for(started.wait(), 10)
    return task


async def test_a_users_turns_never_overlap_across_processes(gates):
    user, log = uuid.uuid4(), []
    first = await holding(gates[0], user, "a", log, 0.3)
    await _turn(gates[1], user, "b", log, 0)
    await first
    assert log == ["a start", "a end", "b start", "b end"]


async def test_turns_in_one_process_run_in_arrival_order(gates):
    user, log = uuid.uuid4(), []
    turns = [asyncio.create_task(_turn(gates[0], user, str(i), log, 0.01)) for i in range(6)]
    await asyncio.gather(*turns)
    assert log == [f"{i} {edge}" for i in range(6) for edge in ("start", "end")]


async def test_other_users_do_not_wait(gates):
    busy, log = uuid.uuid4(), []
    first = await holding(gates[0], busy, "busy", log, 0.5)
    await asyncio.wait_for(_turn(gates[1], uuid.uuid4(), "free", log, 0), 0.3)
    assert log == ["busy start", "free start", "free end"]
    await first


async def test_a_failed_or_cancelled_turn_releases_the_lock(gates):
    user, log = uuid.uuid4(), []
    with pytest.raises(RuntimeError):
        async with gates[0].hold(user):
            raise RuntimeError("the turn broke")
    holder = await holding(gates[0], user, "cancelled", log, 10)
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)
    await asyncio.wait_for(_turn(gates[1], user, "next", log, 0), 2)
    assert log == ["cancelled start", "next start", "next end"]


async def test_turns_waiting_on_the_network_hold_no_connection_others_need(gates):
    """More slow turns than the gate has connections: another user's turn still starts."""
    release = asyncio.Event()

    async def slow(user: uuid.UUID) -> None:
        async with gates[0].hold(user):
            await release.wait()

    slow_turns = [asyncio.create_task(slow(uuid.uuid4())) for _ in range(10)]
    try:
        await asyncio.wait_for(_turn(gates[0], uuid.uuid4(), "bystander", [], 0), 2)
    finally:
        release.set()
        await asyncio.gather(*slow_turns)


async def test_a_lost_lock_connection_is_replaced(gates, database_url):
    """The server dropped the connection holding the locks (a restart): turns go on."""
    user, log = uuid.uuid4(), []
    await _turn(gates[0], user, "before", log, 0)
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url)) as admin:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (LINE_APPLICATION,),
        )
    await asyncio.wait_for(_turn(gates[0], user, "after", log, 0), 5)
    assert log == ["before start", "before end", "after start", "after end"]


async def test_facts_come_with_the_lock_and_a_failed_read_leaves_it_free(gates):
    """The facts are read in the lock's round trip; when that read fails, the lock it may
    have taken is given back, so the user is not shut out."""
    user = uuid.uuid4()
    async with gates[0].hold(user, FactsWanted("m1", None, 60)) as turn:
        facts = await turn.facts("m1", None, 60)
    assert (facts.balance, facts.recent_messages, facts.goal_ok) == (None, 0, True)
    broken = FactsWanted("m2", "not a uuid", 60)  # type: ignore[arg-type]
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        async with gates[0].hold(user, broken):
            pass
    log: list[str] = []
    await asyncio.wait_for(_turn(gates[1], user, "other process", log, 0), 10)
    assert log == ["other process start", "other process end"]


async def test_the_facts_quote_the_chat_turn_price_valid_now(module_db):
    """A turn starts on the price and balance read with its lock: the newest active
    chat_turn price, a new one at once, none when none is active (PricingNotConfigured)."""
    gate = TurnGate(libpq_url(module_db.url), 3, 30)
    await gate.open()

    async def quote() -> Quote:
        wanted = FactsWanted(uuid.uuid4().hex, None, 60)
        async with gate.hold(user.id, wanted) as turn:
            return (await turn.facts(wanted.client_message_id, None, 60)).quote

    try:
        async with module_db.sessions() as session, session.begin():
            user = await make_user(session, token_balance=Decimal("7.5"))
            seeded = await ledger.current_price(session, "chat_turn")
            seeded_cost = seeded.token_cost
        first = await quote()
        assert first.balance == Decimal("7.5")
        assert first.price is not None and first.price.id == seeded.id
        assert first.chat_price().token_cost == seeded_cost

        async with module_db.sessions() as session, session.begin():
            session.add(TokenPricing(service_type="chat_turn", token_cost=Decimal("0.5")))
        assert (await quote()).chat_price().token_cost == Decimal("0.5")

        async with module_db.sessions() as session, session.begin():
            await session.execute(update(TokenPricing).values(is_active=False))
        with pytest.raises(ledger.PricingNotConfigured):
            (await quote()).chat_price()
    finally:
        await gate.close()
