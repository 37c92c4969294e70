"""The labeled suite of natural requests: load it, play it through the real turn path,
score the tool calls.

    cases = load_suite()                                   # tests/labeled/suite.yaml
    outcomes = await run_suite(cases, sessions, http, settings)
    print(score(outcomes).report())

Each case is played for a throwaway user of its own (the suite's `setup` rows: goals,
deals with price histories, an alert), through agent.turn.run_turn with whatever chat
model `settings` configure, billed like any turn; the user and its rows are deleted after.
Expected arguments may name what only exists at run time: "goal:<words>" is the id of the
user's goal whose title holds those words, "deal:#2" / "deal:cheapest" the deal the
conversation showed so, "~words" a text holding them.
"""

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agent.references import pick_deal
from agent.turn import TurnRequest, run_turn
from core.config import Settings
from core.models import ChatMessage, Deal, Goal, Market, Notification, PriceTracking, User
from core.models.enums import DealSource, MarketType, MessageRole, NotificationType

SUITE = Path(__file__).resolve().parent.parent / "tests" / "labeled" / "suite.yaml"
NONE = "none"  # the label of a turn that calls no tool


@dataclass(frozen=True)
class Expected:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Turn:
    say: str
    expect: list[Expected]


@dataclass(frozen=True)
class Case:
    id: str
    turns: list[Turn]
    tags: list[str] = field(default_factory=list)
    setup: dict[str, Any] = field(default_factory=dict)


@dataclass
class TurnOutcome:
    case_id: str
    say: str
    expected: list[Expected]
    calls: list[tuple[str, dict[str, Any]]]
    reply: str
    latency_ms: float
    tokens: int
    goals: dict[str, str]  # id -> title: the user's goals after the turn
    state: dict[str, Any]  # what the conversation showed before the turn (agent.state)
    error: str | None = None

    def labels(self) -> tuple[set[str], set[str]]:
        wanted = {e.name for e in self.expected} or {NONE}
        made = {name for name, _ in self.calls} or {NONE}
        return wanted, made


def expectation(item: Any) -> Expected:
    if isinstance(item, str):
        return Expected(item, {})
    ((name, args),) = item.items()
    return Expected(name, dict(args or {}))


def load_suite(path: Path | None = None) -> list[Case]:
    """The cases of a suite file (None: the project's own), single turns and conversations."""
    data = yaml.safe_load((path or SUITE).read_text(encoding="utf-8"))
    setup = data.get("setup", {})
    cases = []
    for raw in data["cases"]:
        turns = raw.get("turns") or [{"say": raw["say"], "expect": raw.get("expect", [])}]
        cases.append(
            Case(
                id=str(raw["id"]),
                turns=[
                    Turn(str(t["say"]), [expectation(e) for e in t.get("expect") or []])
                    for t in turns
                ],
                tags=list(raw.get("tags", [])),
                setup=setup if raw.get("setup", True) else {},
            )
        )
    return cases


async def make_user(session: AsyncSession, setup: dict[str, Any]) -> uuid.UUID:
    """A throwaway user with the setup's goals, deals (each with its price history) and alerts."""
    user = User(
        email=f"eval-{uuid.uuid4().hex[:12]}@example.invalid",
        password="!",  # no password hash: nobody can log in as it
        token_balance=Decimal(str(setup.get("balance", 1000))),
    )
    session.add(user)
    await session.flush()
    markets = dict((await session.execute(select(Market.type, Market.id))).all())
    now = datetime.now(UTC)
    for spec in setup.get("goals", []):
        goal = Goal(user_id=user.id, **{k: v for k, v in spec.items() if k != "deals"})
        session.add(goal)
        await session.flush()
        for deal_spec in spec.get("deals", []):
            prices = [Decimal(str(p)) for p in deal_spec["prices"]]
            market = MarketType(deal_spec["market"])
            deal = Deal(
                goal_id=goal.id,
                market_id=markets[market],
                title=deal_spec["title"],
                url=f"https://example.invalid/{uuid.uuid4().hex}",
                current_price=prices[-1],
                original_price=Decimal(str(deal_spec.get("list_price", max(prices)))),
                category=goal.category,
                source=DealSource(market.value),
                meta_data={"market": market.value},
            )
            deal.discount_percent = round((1 - deal.current_price / deal.original_price) * 100, 2)
            session.add(deal)
            await session.flush()
            for days_ago, price in enumerate(reversed(prices)):
                session.add(
                    PriceTracking(
                        deal_id=deal.id,
                        price=price,
                        source=deal.source,
                        tracked_at=now - timedelta(days=days_ago),
                    )
                )
    for alert in setup.get("alerts", []):
        session.add(Notification(user_id=user.id, type=NotificationType.PRICE_ALERT, **alert))
    user.active_goals_count = sum(
        1 for g in setup.get("goals", []) if g.get("status", "active") == "active"
    )
    return user.id


async def last_state(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    stored = await session.scalar(
        select(ChatMessage.meta_data["state"])
        .where(ChatMessage.user_id == user_id, ChatMessage.role == MessageRole.ASSISTANT)
        .order_by(ChatMessage.created_at.desc())
        .limit(1)
    )
    return stored if isinstance(stored, dict) else {}


async def play_turn(
    case_id: str, turn: Turn, user_id: uuid.UUID, request: TurnRequest
) -> TurnOutcome:
    sessions = request.sessions
    async with sessions() as session:
        state = await last_state(session, user_id)
    calls: list[tuple[str, dict[str, Any]]] = []

    async def emit(frame: dict[str, Any]) -> None:
        if frame["type"] == "tool_call":
            calls.append((frame["name"], frame["args"]))

    clock = time.perf_counter()
    reply, tokens, error = "", 0, None
    try:
        done = await run_turn(request, emit)
        reply, tokens = done.content, done.tokens_used
    except Exception as failure:  # scored as a miss, and reported
        error = f"{type(failure).__name__}: {failure}"
    latency = (time.perf_counter() - clock) * 1000
    async with sessions() as session:
        rows = await session.execute(select(Goal.id, Goal.title).where(Goal.user_id == user_id))
        goals = {str(goal_id): title for goal_id, title in rows}
    return TurnOutcome(
        case_id, turn.say, turn.expect, calls, reply, latency, tokens, goals, state, error
    )


async def run_case(
    case: Case,
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    settings: Settings,
) -> list[TurnOutcome]:
    """The case's turns in order, as one conversation of a throwaway user."""
    async with sessions() as session, session.begin():
        user_id = await make_user(session, case.setup)
    try:
        return [
            await play_turn(
                case.id,
                turn,
                user_id,
                TurnRequest(
                    user_id=user_id,
                    sessions=sessions,
                    http=http,
                    settings=settings,
                    client_message_id=f"eval-{case.id}-{number}",
                    content=turn.say,
                ),
            )
            for number, turn in enumerate(case.turns)
        ]
    finally:
        async with sessions() as session, session.begin():
            await session.execute(delete(User).where(User.id == user_id))


async def run_suite(
    cases: list[Case],
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    settings: Settings,
    on_turn: Callable[[TurnOutcome], None] | None = None,
) -> list[TurnOutcome]:
    """Every case, one after another (a case's turns are a conversation, in order)."""
    outcomes = []
    for case in cases:
        for outcome in await run_case(case, sessions, http, settings):
            outcomes.append(outcome)
            if on_turn is not None:
                on_turn(outcome)
    return outcomes


def same(expected: Any, actual: Any, outcome: TurnOutcome) -> bool:
    """Whether an argument the model wrote is the one the label expects."""
    if actual is None:
        return False
    if isinstance(expected, list):
        return isinstance(actual, list) and {str(e).lower() for e in expected} == {
            str(a).lower() for a in actual
        }
    wanted, got = str(expected), str(actual)
    if wanted.startswith("goal:"):
        words = wanted[5:].lower().split()
        title = outcome.goals.get(got, "").lower()
        return bool(title) and all(w in title for w in words)
    if wanted.startswith("deal:"):
        shown = pick_deal(wanted[5:].lstrip("#"), outcome.state)
        return isinstance(shown, dict) and str(shown.get("id") or shown.get("url")) == got
    if wanted.startswith("~"):
        return all(w in got.lower() for w in wanted[1:].lower().split())
    try:
        return Decimal(wanted) == Decimal(got)
    except InvalidOperation:
        return wanted.strip().lower() == got.strip().lower()


def argument_hits(outcome: TurnOutcome) -> tuple[int, int]:
    """(expected key arguments matched, expected key arguments) in one turn."""
    hits = total = 0
    for want in outcome.expected:
        made = [args for name, args in outcome.calls if name == want.name]
        for key, value in want.args.items():
            total += 1
            hits += any(same(value, args.get(key), outcome) for args in made)
    return hits, total


@dataclass
class Scores:
    turns: int
    tool_accuracy: float  # turns whose set of tools is exactly the expected one
    precision: float  # macro, over the tool labels (and "none")
    recall: float
    f1: float
    argument_accuracy: float  # expected key arguments matched
    per_tool_f1: dict[str, float]
    latency_p50_ms: float
    latency_p95_ms: float
    tokens_per_turn: float
    misses: list[TurnOutcome]

    def report(self) -> str:
        tools = ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.per_tool_f1.items()))
        lines = [
            f"turns {self.turns}: tool accuracy {self.tool_accuracy:.3f}, macro P/R/F1 "
            f"{self.precision:.3f}/{self.recall:.3f}/{self.f1:.3f}, argument accuracy "
            f"{self.argument_accuracy:.3f}",
            f"latency p50 {self.latency_p50_ms:.0f} ms, p95 {self.latency_p95_ms:.0f} ms; "
            f"{self.tokens_per_turn:.0f} tokens a turn",
            f"per tool F1: {tools}",
        ]
        for miss in self.misses:
            expected = [e.name for e in miss.expected] or [NONE]
            made = [name for name, _ in miss.calls] or [NONE]
            lines.append(f"  miss {miss.case_id}: {miss.say!r} expected {expected} made {made}")
        return "\n".join(lines)


def ratio(part: float, whole: float) -> float:
    return part / whole if whole else 1.0


def score(outcomes: list[TurnOutcome]) -> Scores:
    counts: dict[str, list[int]] = {}  # label -> [true positives, false positives, false negatives]
    exact = hits = total = 0
    misses = []
    for outcome in outcomes:
        wanted, made = outcome.labels()
        for label in wanted | made:
            tally = counts.setdefault(label, [0, 0, 0])
            tally[0 if label in wanted and label in made else 1 if label in made else 2] += 1
        matched, expected = argument_hits(outcome)
        hits, total = hits + matched, total + expected
        if wanted == made and matched == expected and outcome.error is None:
            exact += 1
        else:
            misses.append(outcome)
    precision = {k: ratio(tp, tp + fp) for k, (tp, fp, _) in counts.items()}
    recall = {k: ratio(tp, tp + fn) for k, (tp, _, fn) in counts.items()}
    f1 = {k: ratio(2 * precision[k] * recall[k], precision[k] + recall[k]) for k in counts}
    latencies = sorted(o.latency_ms for o in outcomes) or [0.0]
    return Scores(
        turns=len(outcomes),
        tool_accuracy=ratio(
            sum(1 for o in outcomes if o.labels()[0] == o.labels()[1]), len(outcomes)
        ),
        precision=statistics.fmean(precision.values()) if counts else 1.0,
        recall=statistics.fmean(recall.values()) if counts else 1.0,
        f1=statistics.fmean(f1.values()) if counts else 1.0,
        argument_accuracy=ratio(hits, total),
        per_tool_f1=f1,
        latency_p50_ms=statistics.median(latencies),
        latency_p95_ms=latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        tokens_per_turn=statistics.fmean(o.tokens for o in outcomes) if outcomes else 0.0,
        misses=misses,
    )
