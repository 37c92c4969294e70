"""The offline model's reasoning: from the request and this turn's tool results so far to
the next tool call, or to the reply written from those results."""

import json
import re
from dataclasses import dataclass
from typing import Any

from agent.intents import UUID_RE, Intent

HELP = """I can watch the markets for you. Try:
- "Find me a 27-inch 4K monitor under $300, tell me if one drops below $250"
- "Watch for a 27-inch 4K monitor under $300 by Friday, at least 15% off"
- "Search for a mechanical keyboard under $100 on Amazon"
- "Search deals for my monitor goal"
- "Show my deals under $300, biggest discount first"
- "Track https://www.amazon.com/dp/B0EXAMPLE for my monitor goal"
- "List my goals", "Pause the monitor goal", "Resume it", "Cancel the headphones goal"
- "Change the budget of my monitor goal to $350"
- "What's my balance?\""""

# Which goals each follow-up can apply to.
ELIGIBLE = {
    "pause": {"active"},
    "resume": {"paused"},
    "cancel": {"active", "paused"},
}
LIVE = {"active", "paused", "completed", "expired"}


@dataclass
class Result:
    name: str
    ok: bool
    data: Any  # the parsed JSON result, or the error text


@dataclass
class Call:
    name: str
    args: dict[str, Any]


def parse_result(name: str, status: str, content: str) -> Result:
    if status == "error":
        return Result(name, False, content)
    try:
        return Result(name, True, json.loads(content))
    except ValueError:
        return Result(name, True, content)


def next_move(
    intent: Intent, results: list[Result], tools: set[str], current_goal: str | None
) -> Call | str:
    """A tool call to make next, or the reply text."""
    move = decide(intent, results, current_goal)
    if isinstance(move, Call) and move.name not in tools:
        return f"Sorry, {move.name.replace('_', ' ')} is not available right now."
    return move


def decide(intent: Intent, results: list[Result], current_goal: str | None) -> Call | str:
    if not results:
        return first_move(intent, current_goal)
    last = results[-1]
    if intent.then_search and last.ok and last.name == "create_goal":
        return follow_up(Intent("search"), last.data["goal"])
    if intent.then_search and len(results) == 2:  # the goal stands whatever the search did
        found = describe(last) if last.ok else f"The search didn't work: {first_line(last.data)}"
        return f"{describe(results[0])}\n\n{found}"
    if not last.ok:
        return f"That didn't work: {first_line(last.data)}"
    if last.name == "list_goals" and needs_goal(intent):
        return with_goal(intent, last.data.get("goals", []), current_goal)
    return describe(last)


def needs_goal(intent: Intent) -> bool:
    return intent.kind in {"goal_action", "goal_change"} or (
        intent.kind in {"search", "deals", "track"} and intent.goal_ref is not None
    )


def first_move(intent: Intent, current_goal: str | None) -> Call | str:
    simple = {"balance": "get_balance", "list_goals": "list_goals", "create": "create_goal"}
    if intent.kind in simple:
        return Call(simple[intent.kind], intent.args)
    if intent.kind == "help":
        return HELP
    if intent.kind == "unknown":
        return "Sorry, I didn't catch that. " + HELP
    if needs_goal(intent):
        goal_id = named_goal(intent, current_goal)
        if goal_id and intent.kind != "search":  # a search needs the goal's title: list first
            return follow_up(intent, {"id": goal_id})
        return Call("list_goals", {})
    tool = {"search": "search_markets", "track": "track_product_url"}.get(intent.kind)
    return Call(tool or "query_deals", intent.args)


def named_goal(intent: Intent, current_goal: str | None) -> str | None:
    """The goal id the request gives, or the conversation's goal when it names none."""
    ref = intent.goal_ref or ""
    return ref if UUID_RE.fullmatch(ref) else current_goal if not ref else None


def follow_up(intent: Intent, goal: dict[str, Any]) -> Call:
    if intent.kind in {"goal_action", "goal_change"}:
        return Call("update_goal", {"goal_id": goal["id"], **intent.args})
    if intent.kind in {"deals", "track"}:
        tool = "query_deals" if intent.kind == "deals" else "track_product_url"
        return Call(tool, {**intent.args, "goal_id": goal["id"]})
    args: dict[str, Any] = {"query": goal.get("title") or "", "goal_id": goal["id"], **intent.args}
    if goal.get("max_budget") and "max_price" not in args:
        args["max_price"] = goal["max_budget"]
    if goal.get("min_discount_percent") and "min_discount" not in args:
        args["min_discount"] = goal["min_discount_percent"]
    if goal.get("category"):
        args["category"] = goal["category"]
    return Call("search_markets", args)


def with_goal(intent: Intent, goals: list[dict[str, Any]], current_goal: str | None) -> Call | str:
    eligible_status = ELIGIBLE.get(intent.args.get("action", ""), LIVE)
    eligible = [g for g in goals if g["status"] in eligible_status]
    words = set(re.findall(r"[\w-]+", (intent.goal_ref or "").lower()))
    if goal_id := named_goal(intent, current_goal):
        eligible = [g for g in eligible if g["id"] == goal_id]
    elif words:
        scored = [(len(words & title_words(g)), g) for g in eligible]
        best = max((score for score, _ in scored), default=0)
        eligible = [g for score, g in scored if score == best and best > 0]
    if len(eligible) == 1:
        return follow_up(intent, eligible[0])
    if not eligible:
        what = f" matching “{intent.goal_ref}”" if words else ""
        return (
            f"I couldn't find a goal{what} that I can do that to. Say “list my goals” to see them."
        )
    names = "; ".join(f"{g['title']} ({g['status']})" for g in eligible)
    return f"Which goal do you mean? {names}."


def title_words(goal: dict[str, Any]) -> set[str]:
    words = set(re.findall(r"[\w-]+", goal["title"].lower()))
    return words | {w.rstrip("s") for w in words} | {w + "s" for w in words}


def first_line(text: Any) -> str:
    return str(text).strip().splitlines()[0] if str(text).strip() else "unknown error"


def money(value: Any) -> str:
    return f"${value}" if value is not None else "—"


def goal_line(goal: dict[str, Any]) -> str:
    parts = [f"**{goal['title']}** ({goal['category']}, {goal['status']})"]
    if goal.get("max_budget"):
        parts.append(f"budget {money(goal['max_budget'])}")
    if goal.get("target_price"):
        parts.append(f"target {money(goal['target_price'])}")
    if goal.get("min_discount_percent"):
        parts.append(f"at least {goal['min_discount_percent']}% off")
    if goal.get("end_date"):
        parts.append(f"until {goal['end_date'][:10]}")
    return ", ".join(parts) + f" — id {goal['id']}"


def offer_line(offer: dict[str, Any]) -> str:
    price = offer.get("price", offer.get("current_price"))
    line = f"- {offer.get('title', 'an offer')}: {money(price)}"
    if offer.get("discount_percent"):
        line += f" ({offer['discount_percent']}% off)"
    if where := offer.get("market") or offer.get("source"):
        line += f" at {where}"
    return line


def describe(result: Result) -> str:
    data = result.data if isinstance(result.data, dict) else {}
    if result.name == "create_goal":
        watching = data.get("watching") or {}
        return (
            f"Done. I'm now watching for {goal_line(data['goal'])}. I check the markets for "
            f"it {watching.get('first_check', 'soon')}, then every "
            f"{watching.get('then_every', 'hour')} ({watching.get('tokens_per_check', '?')} "
            "tokens a check); new matches and price drops come to you as notifications."
        )
    if result.name == "update_goal":
        goal = data["goal"]
        return f"Done: **{goal['title']}** is now {goal['status']}. " + goal_line(goal)
    if result.name == "list_goals":
        goals = data.get("goals", [])
        if not goals:
            return "You have no goals yet. Tell me what to watch for."
        return "Your goals:\n" + "\n".join(f"- {goal_line(g)}" for g in goals)
    if result.name == "get_balance":
        return (
            f"Your balance is {data['token_balance']} tokens "
            f"({data['total_tokens_spent']} spent so far, {data['active_goals']} active goals)."
        )
    if result.name == "track_product_url":
        return f"Tracking it: {offer_line(data['deal'])[2:]}. I'll keep its price history."
    offers = data.get("products") or data.get("deals") or []
    if result.name in {"search_markets", "query_deals"}:
        found = "Here is what I found" if offers else "I found nothing that matches"
        lines = [found + (":" if offers else ".")] + [offer_line(o) for o in offers[:10]]
        if saved := data.get("saved_as_deals"):
            lines.append(f"Saved {saved} of them as deals of your goal.")
        reports = [r for r in data.get("markets", []) if r.get("status") != "ok"]
        lines += [f"({r['market']}: {r['status']})" for r in reports]
        return "\n".join(lines)
    return f"Done: {json.dumps(result.data)[:500]}"
