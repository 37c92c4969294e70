"""Plays scripts against a running server: each turn over the chat WebSocket, its frames
and the REST API's view afterwards checked against the script's expectations."""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from converse import effects
from converse.client import chat, open_chat, recv
from converse.match import differences, substitute
from converse.script import Expect, Script, ToolCall, Turn

REPLY_SHOWN = 300  # characters of a reply quoted in a failure


@dataclass
class TurnResult:
    number: int
    say: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tools: list[str] = field(default_factory=list)
    skipped: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems and not self.skipped


@dataclass
class ScriptResult:
    script: Script
    turns: list[TurnResult] = field(default_factory=list)
    error: str | None = None  # the script could not start (sign-up, login, connection)

    @property
    def passed(self) -> bool:
        return self.error is None and all(t.passed for t in self.turns)


class StartError(Exception):
    """A script could not start: no account, no connection."""


@dataclass(frozen=True)
class Login:
    """Whose account the scripts run as: a token, an email and password, or (neither) a
    throwaway user signed up for each script, so scripts do not see each other's goals."""

    token: str | None = None
    email: str | None = None
    password: str | None = None


async def access_token(api: httpx.AsyncClient, login: Login) -> str:
    if login.token:
        return login.token
    email, password = login.email, login.password
    if email is None or password is None:
        email, password = f"converse-{uuid.uuid4().hex[:12]}@example.com", uuid.uuid4().hex
        signed_up = await api.post("/auth/register", json={"email": email, "password": password})
        if signed_up.status_code != 201:
            raise StartError(
                f"signing up a throwaway user: {signed_up.status_code} {signed_up.text}"
            )
    logged_in = await api.post("/auth/login", json={"email": email, "password": password})
    if logged_in.status_code != 200:
        raise StartError(f"logging in as {email}: {logged_in.status_code} {logged_in.text}")
    return logged_in.json()["access_token"]


async def connect(base_url: str, token: str) -> ClientConnection:
    try:
        ws = await open_chat(base_url, token)
        ready = await recv(ws)
    except (OSError, InvalidStatus, ConnectionClosed, TimeoutError) as error:
        raise StartError(f"opening the chat socket: {error}") from None
    if ready.get("type") != "ready":
        raise StartError(f"the chat socket answered {ready} instead of ready")
    return ws


async def run_script(
    base_url: str,
    script: Script,
    login: Login,
    *,
    turn_timeout_s: float,
    on_turn: Callable[[TurnResult], None] = lambda _: None,
) -> ScriptResult:
    result = ScriptResult(script)
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", timeout=30) as api:
        try:
            token = await access_token(api, login)
            api.headers["Authorization"] = f"Bearer {token}"
            ws = await connect(base_url, token)
        except (StartError, httpx.HTTPError) as error:
            result.error = str(error)
            return result
        variables: dict[str, str] = {}
        run_id = uuid.uuid4().hex[:8]  # a message id sent again would replay its turn
        try:
            for turn in script.turns:
                if result.turns and not result.turns[-1].passed:
                    done = TurnResult(turn.number, turn.say, skipped=True)
                else:
                    done = await play(
                        ws, api, turn, variables, f"{run_id}-{turn.number}", turn_timeout_s
                    )
                result.turns.append(done)
                on_turn(done)
        finally:
            await ws.close()
    return result


async def play(
    ws: ClientConnection,
    api: httpx.AsyncClient,
    turn: Turn,
    variables: dict[str, str],
    msg_id: str,
    timeout_s: float,
) -> TurnResult:
    say = substitute(turn.say, variables)
    result = TurnResult(turn.number, say)
    started = time.monotonic()
    try:
        was = await effects.before(api, turn.expect.effects)
        extra = {"goal_id": substitute(turn.goal_id, variables)} if turn.goal_id else {}
        frames = await chat(ws, msg_id, say, wait_s=timeout_s, **extra)
        record = turn_record(frames)
        result.tools = [call["name"] for call in record["calls"]]
        result.problems = check_frames(turn.expect, record, variables)
        result.problems += await effects.check(api, turn.expect.effects, was, variables)
        result.problems += capture(turn.capture, record, variables)
    except TimeoutError:
        result.problems.append(f"no frame from the server for {timeout_s:g} s")
    except ConnectionClosed as closed:
        result.problems.append(f"the server closed the chat socket ({closed})")
    except (effects.ApiError, httpx.HTTPError) as error:
        result.problems.append(f"the REST API: {error}")
    result.seconds = time.monotonic() - started
    return result


def turn_record(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """What a turn answered, as script paths see it: `calls` (in order), `tools` (the first
    call of each tool, by name), `reply`, `turn` (assistant_message) and `error`."""
    end = frames[-1]
    acks = [f for f in frames if f["type"] == "ack" and f.get("id") == end.get("id")]
    turn_id = acks[0]["turn_id"] if acks else None
    results = {
        f["call_id"]: f for f in frames if f["type"] == "tool_result" and f["turn_id"] == turn_id
    }
    calls = []
    for call in (f for f in frames if f["type"] == "tool_call" and f["turn_id"] == turn_id):
        answer = results.get(call["call_id"], {})
        calls.append(
            {
                "name": call["name"],
                "args": call["args"],
                "ok": answer.get("ok"),
                "result": answer.get("result"),
                "error": answer.get("error"),
            }
        )
    tools: dict[str, Any] = {}
    for call in calls:
        tools.setdefault(call["name"], call)
    finished = end["type"] == "assistant_message"
    return {
        "calls": calls,
        "tools": tools,
        "reply": end["content"] if finished else None,
        "turn": end if finished else None,
        "error": None if finished else end,
    }


def check_frames(expect: Expect, record: dict[str, Any], variables: dict[str, str]) -> list[str]:
    problems = outcome(expect, record)
    if expect.tools is not None:
        problems += tool_calls(expect.tools, record["calls"], variables)
    if expect.tools_include is not None:
        problems += tools_included(expect.tools_include, record["calls"], variables)
    if expect.reply is not None and record["reply"] is not None:
        problems += reply(expect, record["reply"], variables)
    return problems


def outcome(expect: Expect, record: dict[str, Any]) -> list[str]:
    error = record["error"]
    if expect.error is None:
        return [] if error is None else [f"the turn failed: {error['code']}: {error['message']}"]
    if error is None:
        return [f"error: expected {expect.error!r}, the turn answered: {shown(record['reply'])}"]
    if error["code"] != expect.error:
        return [f"error: expected {expect.error!r}, got {error['code']!r}: {error['message']}"]
    return []


def call_differences(
    call: ToolCall, made: dict[str, Any], variables: dict[str, str], where: str
) -> list[str]:
    """How a call departs from the expected arguments and answer."""
    found = []
    for part in ("args", "result"):
        expected = getattr(call, part)
        if expected is not None:
            found += differences(
                substitute(expected, variables), made[part], f"{where} {call.name} {part}"
            )
    return found


def names(calls: list[Any]) -> str:
    return "[" + ", ".join(c.name if isinstance(c, ToolCall) else c["name"] for c in calls) + "]"


def tool_calls(
    wanted: list[ToolCall], calls: list[dict[str, Any]], variables: dict[str, str]
) -> list[str]:
    """Exactly the wanted calls, in order."""
    if [c.name for c in wanted] != [c["name"] for c in calls]:
        return [f"tools: expected {names(wanted)}, called {names(calls)}"]
    return [
        problem
        for i, (call, made) in enumerate(zip(wanted, calls, strict=True))
        for problem in call_differences(call, made, variables, f"tools[{i}]")
    ]


def tools_included(
    wanted: list[ToolCall], calls: list[dict[str, Any]], variables: dict[str, str]
) -> list[str]:
    """The wanted calls in order, other calls allowed before, between and after."""
    rest = iter(enumerate(calls))
    for call in wanted:
        near = []
        for i, made in rest:
            if made["name"] == call.name:
                near = call_differences(call, made, variables, f"tools_include: call {i}")
                if not near:
                    break
        else:
            return [
                f"tools_include: no {call.name} call as expected (in this order); "
                f"called {names(calls)}",
                *near,
            ]
    return []


def reply(expect: Expect, text: str, variables: dict[str, str]) -> list[str]:
    assert expect.reply is not None
    problems = [
        f"reply: expected to contain {part!r}"
        for part in substitute(expect.reply.contains, variables)
        if part not in text
    ]
    problems += [
        f"reply: expected not to contain {part!r}"
        for part in substitute(expect.reply.not_contains, variables)
        if part in text
    ]
    problems += [
        f"reply: expected to match {p!r}" for p in expect.reply.matches if not p.regex.search(text)
    ]
    return [*problems, f"  the reply was: {shown(text)}"] if problems else []


def shown(text: str | None) -> str:
    if text is None:
        return "(none)"
    return repr(text if len(text) <= REPLY_SHOWN else text[:REPLY_SHOWN] + "…")


def capture(
    paths: dict[str, list[str]], record: dict[str, Any], variables: dict[str, str]
) -> list[str]:
    problems = []
    for name, steps in paths.items():
        value: Any = record
        for step in steps:
            if isinstance(value, dict) and step in value:
                value = value[step]
            elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
                value = value[int(step)]
            else:
                value = None
            if value is None:
                problems.append(
                    f"capture {name}: {'.'.join(steps)} is not in this turn's answer (at {step!r})"
                )
                break
        else:
            variables[name] = str(value)
    return problems
