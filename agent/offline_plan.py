"""The offline model's reasoning: from the request, what the conversation showed
(agent.state) and this turn's tool results so far to the next tool call, or to the reply
written from those results (agent.replies)."""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from agent import small_talk
from agent.intents import UUID_RE, Intent
from agent.references import pick_deal, points_back
from agent.replies import describe, plain_error

HELP = """I can watch the markets for you. Try:
- "Find me a 27-inch 4K monitor under $300, tell me if one drops below $250"
- "Watch for a 27-inch 4K monitor under $300 by Friday, at least 15% off"
- "Search for a mechanical keyboard under $100 on Amazon, cheapest first"
- "Show my deals under $300, biggest discount first", then "price history of #2"
- "Track https://www.amazon.com/dp/B0EXAMPLE"
- "List my goals", "Which goals are paused?", "Pause the monitor goal", "Resume it"
- "Change the budget of my monitor goal to $350"
- "What's my balance?", "How much did I spend this week?", "Any alerts?\""""
FIXED = {
    "help": HELP,
    "empty": small_talk.NOTHING_TO_READ,
    "foreign": small_talk.NOT_ENGLISH,
    "others": small_talk.ONLY_YOURS,
}
SIMPLE = {
    "balance": "get_balance",
    "list_goals": "list_goals",
    "create": "create_goal",
    "notifications": "list_notifications",
}
# Which goals each follow-up can apply to.
ELIGIBLE = {
    "pause": {"active"},
    "resume": {"paused"},
    "cancel": {"active", "paused"},
}
LIVE = {"active", "paused", "completed", "expired"}
CANNOT = {
    "cancelled": "was cancelled, and a cancelled goal can't be resumed or changed. To watch "
    "for it again, create it anew, e.g. “watch for {title}”",
    "completed": "is completed (its deadline or its matches are reached). To keep looking, "
    "create a new goal, e.g. “watch for {title}”",
    "expired": "has expired (its deadline passed). To keep looking, create a new goal, "
    "e.g. “watch for {title}”",
    "active": "is already active",
    "paused": "is already paused; say “resume it” to watch it again",
}


@dataclass
class Result:
    name: str
    ok: bool
    data: Any  # the parsed JSON result, or the error text
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class Call:
    name: str
    args: dict[str, Any]


@dataclass
class Known:
    """What the model knows besides the request: the chat's goal, what was shown."""

    current_goal: str | None = None
    state: dict[str, Any] = field(default_factory=dict)

    def focus_goal(self) -> dict[str, Any] | None:
        if self.current_goal:
            return {"id": self.current_goal}
        return self.state.get("goal")


def parse_result(name: str, status: str, content: str, args: dict[str, Any]) -> Result:
    if status == "error":
        return Result(name, False, content, args)
    try:
        return Result(name, True, json.loads(content), args)
    except ValueError:
        return Result(name, True, content, args)


def next_move(intent: Intent, results: list[Result], tools: set[str], known: Known) -> Call | str:
    """A tool call to make next, or the reply text."""
    move = decide(intent, results, known)
    if isinstance(move, Call) and move.name not in tools:
        return f"Sorry, {move.name.replace('_', ' ')} is not available right now."
    return move


def decide(intent: Intent, results: list[Result], known: Known) -> Call | str:
    if not results:
        return first_move(intent, known)
    last = results[-1]
    if intent.then_search and last.ok and last.name == "create_goal":
        return follow_up(Intent("search"), last.data["goal"])
    if intent.then_search and len(results) == 2:  # the goal stands whatever the search did
        found = reply_to(last)
        return f"{reply_to(results[0])}\n\n{found}"
    if last.ok and last.name == "list_goals" and intent.kind == "track" and intent.deal_ref:
        return track_under(intent, last.data.get("goals", []), known)
    if last.ok and last.name == "list_goals" and needs_goal(intent):
        return with_goal(intent, last.data.get("goals", []), known)
    return reply_to(last)


def reply_to(result: Result) -> str:
    if not result.ok:
        return f"That didn't work: {plain_error(result.data)}"
    return describe(result.name, result.data, result.args)


def needs_goal(intent: Intent) -> bool:
    return intent.kind in {"goal_action", "goal_change"} or (
        intent.kind in {"search", "deals", "track", "spending"} and intent.goal_ref is not None
    )


def first_move(intent: Intent, known: Known) -> Call | str:
    if intent.kind in FIXED:
        return FIXED[intent.kind]
    if intent.kind == "smalltalk":
        return intent.args["reply"]
    if intent.kind == "unknown":
        return small_talk.clarify(intent.text)
    if intent.kind in SIMPLE:
        return Call(SIMPLE[intent.kind], intent.args)
    if intent.kind == "price_history":
        return history_of(intent, known)
    if intent.kind == "track" and intent.deal_ref:
        return track_shown(intent, known)
    if needs_goal(intent):
        goal = named_goal(intent, known)
        if goal and intent.kind != "search":  # a search needs the goal's title: list first
            return refusal(intent, goal) or follow_up(intent, goal)
        return Call("list_goals", {})
    if intent.kind == "track":
        return follow_up(intent, live_focus(known))
    if intent.kind == "spending":
        return Call("get_spending", intent.args)
    tool = {"search": "search_markets"}.get(intent.kind, "query_deals")
    return Call(tool, intent.args)


def history_of(intent: Intent, known: Known) -> Call | str:
    deal = pick_deal(intent.deal_ref or "it", known.state)
    if isinstance(deal, str):
        return deal
    if not deal.get("id"):
        return (
            f"I don't keep a price history for “{deal['title']}” yet: it was a search result, "
            "not a tracked deal. Say “track it” (or its #number) and I'll follow its price."
        )
    return Call("price_history", {"deal_id": deal["id"]})


def track_shown(intent: Intent, known: Known) -> Call | str:
    deal = pick_deal(intent.deal_ref or "it", known.state)
    if isinstance(deal, str):
        return deal
    focus = live_focus(known)
    if intent.goal_ref or not focus:  # which goal: by its words, or the product's
        return Call("list_goals", {})
    return follow_up(Intent("track", {"url": deal["url"]}), focus)


def track_under(intent: Intent, goals: list[dict[str, Any]], known: Known) -> Call | str:
    """A product the conversation showed, tracked under the goal named, or else the live
    goal whose title shares the most words with the product's (the tool asks if none)."""
    deal = pick_deal(intent.deal_ref or "it", known.state)
    if isinstance(deal, str):
        return deal
    tracked = Intent("track", {"url": deal["url"]}, intent.goal_ref)
    if intent.goal_ref:
        return with_goal(tracked, goals, known)
    words = set(re.findall(r"[\w-]+", str(deal.get("title", "")).lower()))
    scored = [(len(words & title_words(g)), g) for g in goals if g["status"] in LIVE]
    best = max((score for score, _ in scored), default=0)
    closest = [g for score, g in scored if score == best and best > 0]
    return follow_up(tracked, closest[0] if len(closest) == 1 else None)


def live_focus(known: Known) -> dict[str, Any] | None:
    """The goal the chat is about, if it can still take deals; else the tool picks."""
    goal = known.focus_goal()
    return goal if goal and goal.get("status", "active") in {"active", "paused"} else None


def named_goal(intent: Intent, known: Known) -> dict[str, Any] | None:
    """The goal the request names by id, or by "it"/"that goal"/nothing at all: the goal
    the conversation is about (None: find it by title words in list_goals)."""
    ref = intent.goal_ref or ""
    if UUID_RE.fullmatch(ref):
        return {"id": ref}
    if not ref or points_back(ref):
        return known.focus_goal()
    return None


def refusal(intent: Intent, goal: dict[str, Any]) -> str | None:
    """Why the goal in focus cannot take this action, when what was shown says so."""
    wanted = ELIGIBLE.get(intent.args.get("action", ""))
    status = goal.get("status")
    if intent.kind != "goal_action" or not wanted or not status or status in wanted:
        return None
    return f"Your goal “{goal['title']}” {CANNOT[status].format(title=goal['title'])}."


def follow_up(intent: Intent, goal: dict[str, Any] | None) -> Call:
    goal_id = {"goal_id": goal["id"]} if goal else {}
    if intent.kind in {"goal_action", "goal_change"}:
        return Call("update_goal", {**goal_id, **intent.args})
    if intent.kind in {"deals", "track", "spending"}:
        tool = {"deals": "query_deals", "track": "track_product_url"}.get(
            intent.kind, "get_spending"
        )
        return Call(tool, {**intent.args, **goal_id})
    assert goal is not None  # a search about a goal found it first
    args: dict[str, Any] = {"query": goal.get("title") or "", **goal_id, **intent.args}
    if goal.get("max_budget") and "max_price" not in args:
        args["max_price"] = goal["max_budget"]
    if goal.get("min_discount_percent") and "min_discount" not in args:
        args["min_discount"] = goal["min_discount_percent"]
    if goal.get("category"):
        args["category"] = goal["category"]
    return Call("search_markets", args)


def with_goal(intent: Intent, goals: list[dict[str, Any]], known: Known) -> Call | str:
    eligible_status = eligible_for(intent)
    words = set(re.findall(r"[\w-]+", (intent.goal_ref or "").lower()))
    if points_back(intent.goal_ref):
        words = set()
    if words:
        scored = [(len(words & title_words(g)), g) for g in goals]
        best = max((score for score, _ in scored), default=0)
        named = [g for score, g in scored if score == best and best > 0]
    else:
        named = goals
    eligible = [g for g in named if g["status"] in eligible_status]
    if len(eligible) == 1:
        return follow_up(intent, eligible[0])
    if not eligible:
        if words and len(named) == 1:
            return refusal(intent, named[0]) or (
                f"Your goal “{named[0]['title']}” is {named[0]['status']}, so I can't do that."
            )
        if words and named:
            names = "; ".join(f"“{g['title']}” ({g['status']})" for g in named)
            return f"None of the goals matching “{intent.goal_ref}” can take that: {names}."
        what = f" matching “{intent.goal_ref}”" if words else ""
        kind = "" if words else " that I can do that to"
        return f"I couldn't find a goal{what}{kind}. Say “list my goals” to see them."
    names = "; ".join(f"“{g['title']}” ({g['status']})" for g in eligible)
    return f"Which goal do you mean: {names}?"


def eligible_for(intent: Intent) -> set[str]:
    if action := intent.args.get("action"):
        return ELIGIBLE.get(action, LIVE)
    if intent.kind in {"deals", "spending"}:  # a cancelled goal's deals and costs stay
        return LIVE | {"cancelled", "failed", "error"}
    return LIVE


def title_words(goal: dict[str, Any]) -> set[str]:
    words = set(re.findall(r"[\w-]+", goal["title"].lower()))
    return words | {w.rstrip("s") for w in words} | {w + "s" for w in words}
