"""A conversation script (docs/conversations.md): read, checked whole, before any turn runs.
Anything unknown or misshapen is a ScriptError naming the file, the line and the problem."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from converse.located_yaml import Located, LocatedList, Pattern, ScriptError, load_yaml
from converse.match import Count, number, variables_in

T = TypeVar("T")
CAPTURE_ROOTS = ("tools", "calls", "reply", "turn", "error")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
DEAL_FILTERS = (
    "goal_id",
    "status",
    "min_price",
    "max_price",
    "min_discount",
    "market",
    "category",
    "text",
)
NOTIFICATION_FIELDS = (
    "type", "priority", "status", "title", "message",
    "goal_id", "deal_id", "action_url", "meta_data",
)  # fmt: skip
BALANCE_KEYS = ("down_by", "down_at_least", "down_at_most")


@dataclass(frozen=True)
class ToolCall:
    name: str
    args: dict[str, Any] | None = None  # a subset of the call's arguments
    result: dict[str, Any] | None = None  # a subset of the tool's answer


@dataclass(frozen=True)
class Reply:
    contains: list[str] = field(default_factory=list)
    not_contains: list[str] = field(default_factory=list)
    matches: list[Pattern] = field(default_factory=list)


@dataclass(frozen=True)
class Deals:
    count: Count
    filters: dict[str, Any]


@dataclass(frozen=True)
class NewNotification:
    fields: dict[str, Any]
    within_s: float


@dataclass(frozen=True)
class Effects:
    goal: dict[str, Any] | None = None
    balance: dict[str, Decimal] | None = None
    deals: Deals | None = None
    notification: NewNotification | None = None


@dataclass(frozen=True)
class Expect:
    tools: list[ToolCall] | None = None  # exactly these calls, in this order
    tools_include: list[ToolCall] | None = None  # these calls in this order, others between
    reply: Reply | None = None
    error: str | None = None
    effects: Effects = field(default_factory=Effects)


@dataclass(frozen=True)
class Turn:
    number: int
    line: int
    say: str
    goal_id: str | None
    expect: Expect
    capture: dict[str, list[str]]  # variable -> path into the turn's record


@dataclass(frozen=True)
class Script:
    file: str
    name: str
    turns: list[Turn]


class Reader:
    """Reads one script's parts, raising ScriptError with the line of what is wrong."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, line: int | None, message: str) -> ScriptError:
        return ScriptError(line, message, self.file)

    def mapping(
        self, value: Any, line: int, where: str, known: tuple[str, ...] | None = None
    ) -> Located:
        """`value`, a mapping with only `known` keys (any keys when None)."""
        if not isinstance(value, Located):
            raise self.fail(line, f"{where}: expected a mapping, got {value!r}")
        for key in value:
            if known is not None and key not in known:
                raise self.fail(
                    value.lines[key],
                    f"{where}: unknown key {key!r} (known: {', '.join(known)})",
                )
        return value

    def text(self, value: Any, line: int, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(line, f"{where}: expected text, got {value!r}")
        return value

    def texts(self, value: Any, line: int, where: str) -> list[str]:
        """One text or a list of them."""
        if isinstance(value, LocatedList):
            return [self.text(v, value.lines[i], f"{where}[{i}]") for i, v in enumerate(value)]
        return [self.text(value, line, where)]

    def count(self, value: Any, line: int, where: str) -> Count:
        """A whole number, or at_least and/or at_most."""
        if not isinstance(value, dict):
            return Count(self.whole(value, line, where), self.whole(value, line, where))
        bounds = self.mapping(value, line, where, ("at_least", "at_most"))
        for key, bound in bounds.items():
            self.whole(bound, bounds.lines[key], f"{where}.{key}")
        if not bounds:
            raise self.fail(line, f"{where}: give at_least, at_most or both")
        return Count(bounds.get("at_least"), bounds.get("at_most"))

    def part(
        self, parent: Located, key: str, where: str, read: Callable[[Any, int, str], T]
    ) -> T | None:
        """`parent[key]` read by `read`, or None when it is not given."""
        if key not in parent:
            return None
        return read(parent[key], parent.lines[key], f"{where}.{key}")

    def whole(self, value: Any, line: int, where: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(line, f"{where}: expected a whole number ≥ 0, got {value!r}")
        return value

    def script(self, document: Any) -> Script:
        top = self.mapping(document, 1, "script", ("name", "description", "turns"))
        turns = top.get("turns")
        if not isinstance(turns, LocatedList) or not turns:
            raise self.fail(top.lines.get("turns", 1), "script: 'turns' must be a list of turns")
        name = top.get("name", Path(self.file).stem)
        name = self.text(name, top.lines.get("name", 1), "name")
        read = [self.turn(t, turns.lines[i], i + 1) for i, t in enumerate(turns)]
        self.check_variables(read)
        return Script(self.file, name, read)

    def turn(self, value: Any, line: int, position: int) -> Turn:
        where = f"turn {position}"
        turn = self.mapping(value, line, where, ("say", "goal_id", "expect", "capture"))
        if "say" not in turn:
            raise self.fail(line, f"{where}: 'say' (the user's message) is missing")
        say = self.text(turn["say"], turn.lines["say"], f"{where}.say")
        goal_id = self.part(turn, "goal_id", where, self.text)
        expect = self.expect(turn.get("expect", Located()), turn.lines.get("expect", line), where)
        capture = self.capture(
            turn.get("capture", Located()), turn.lines.get("capture", line), where
        )
        return Turn(position, line, say, goal_id, expect, capture)

    def expect(self, value: Any, line: int, where: str) -> Expect:
        where += ".expect"
        known = ("tools", "tools_include", "reply", "error", "effects")
        expect = self.mapping(value, line, where, known)
        return Expect(
            self.part(expect, "tools", where, self.tools),
            self.part(expect, "tools_include", where, self.tools),
            self.part(expect, "reply", where, self.reply),
            self.part(expect, "error", where, self.text),
            self.part(expect, "effects", where, self.effects) or Effects(),
        )

    def tools(self, value: Any, line: int, where: str) -> list[ToolCall]:
        if not isinstance(value, LocatedList):
            raise self.fail(line, f"{where}: expected a list of tool calls ([] for none)")
        calls = []
        for i, item in enumerate(value):
            at, inner = value.lines[i], f"{where}[{i}]"
            if isinstance(item, str):
                calls.append(ToolCall(self.text(item, at, inner)))
                continue
            call = self.mapping(item, at, inner, ("name", "args", "result"))
            if "name" not in call:
                raise self.fail(at, f"{inner}: 'name' (the tool's name) is missing")
            calls.append(
                ToolCall(
                    self.text(call["name"], call.lines["name"], inner),
                    self.part(call, "args", inner, self.mapping),
                    self.part(call, "result", inner, self.mapping),
                )
            )
        return calls

    def reply(self, value: Any, line: int, where: str) -> Reply:
        reply = self.mapping(value, line, where, ("contains", "not_contains", "matches"))
        lines = reply.lines
        matches = reply.get("matches", LocatedList())
        patterns = matches if isinstance(matches, list) else [matches]
        for pattern in patterns:
            if not isinstance(pattern, Pattern):
                raise self.fail(lines["matches"], f'{where}.matches: write it !re "…"')
        return Reply(
            self.part(reply, "contains", where, self.texts) or [],
            self.part(reply, "not_contains", where, self.texts) or [],
            list(patterns),
        )

    def effects(self, value: Any, line: int, where: str) -> Effects:
        effects = self.mapping(value, line, where, ("goal", "balance", "deals", "notification"))
        return Effects(
            self.part(effects, "goal", where, self.mapping),
            self.part(effects, "balance", where, self.balance),
            self.part(effects, "deals", where, self.deals),
            self.part(effects, "notification", where, self.notification),
        )

    def balance(self, value: Any, line: int, where: str) -> dict[str, Decimal]:
        bounds = self.mapping(value, line, where, BALANCE_KEYS)
        if not bounds:
            raise self.fail(line, f"{where}: give one of {', '.join(BALANCE_KEYS)}")
        amounts = {}
        for key, amount in bounds.items():
            parsed = number(amount)
            if parsed is None or not parsed.is_finite():
                raise self.fail(bounds.lines[key], f"{where}.{key}: expected a number of tokens")
            amounts[key] = parsed
        return amounts

    def deals(self, value: Any, line: int, where: str) -> Deals:
        deals = self.mapping(value, line, where, ("count", *DEAL_FILTERS))
        if "count" not in deals:
            raise self.fail(line, f"{where}: 'count' is missing")
        count = self.count(deals["count"], deals.lines["count"], f"{where}.count")
        return Deals(count, {k: v for k, v in deals.items() if k != "count"})

    def notification(self, value: Any, line: int, where: str) -> NewNotification:
        note = self.mapping(value, line, where, ("within_s", *NOTIFICATION_FIELDS))
        within = number(note.get("within_s", 10))
        if within is None or not 0 < within <= 600:
            raise self.fail(note.lines.get("within_s", line), f"{where}.within_s: 0 to 600 seconds")
        return NewNotification({k: v for k, v in note.items() if k != "within_s"}, float(within))

    def capture(self, value: Any, line: int, where: str) -> dict[str, list[str]]:
        where += ".capture"
        capture = self.mapping(value, line, where)
        paths = {}
        for name, path in capture.items():
            at = capture.lines[name]
            if not NAME.match(name):
                raise self.fail(
                    at, f"{where}: {name!r} is not a variable name (letters, digits, _)"
                )
            steps = self.text(path, at, f"{where}.{name}").split(".")
            if steps[0] not in CAPTURE_ROOTS:
                raise self.fail(
                    at, f"{where}.{name}: a path starts with one of {', '.join(CAPTURE_ROOTS)}"
                )
            paths[name] = steps
        return paths

    def check_variables(self, turns: list[Turn]) -> None:
        """Every `${name}` a turn uses is captured by an earlier turn."""
        known: set[str] = set()
        for turn in turns:
            used = variables_in([turn.say, turn.goal_id, expectation_values(turn.expect)])
            if missing := sorted(used - known):
                raise self.fail(
                    turn.line,
                    f"turn {turn.number} uses ${{{missing[0]}}}, which no earlier turn captures",
                )
            known |= set(turn.capture)


def expectation_values(expect: Expect) -> list[Any]:
    """The values of an expectation that may hold variables."""
    effects = expect.effects
    return [
        [[c.args, c.result] for c in (expect.tools or []) + (expect.tools_include or [])],
        expect.reply.contains + expect.reply.not_contains if expect.reply else [],
        effects.goal,
        effects.deals.filters if effects.deals else None,
        effects.notification.fields if effects.notification else None,
    ]


def load_script(path: Path) -> Script:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScriptError(None, f"cannot read it: {error}", str(path)) from None
    document = load_yaml(text, str(path))
    if document is None:
        raise ScriptError(1, "the script is empty", str(path))
    return Reader(str(path)).script(document)
