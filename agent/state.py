"""What the conversation showed, kept between turns: the goal in focus, the goals listed
and the deals shown in the order shown (so "#2", "the cheapest one", "that goal" and
"it" can be resolved). Stored in each assistant message's meta_data["state"], given to the
model in the system prompt; each turn's tool results are summarised in meta_data["summary"]
for the history window (a line, never the whole JSON)."""

import json
from collections.abc import Iterable
from typing import Any

MAX_ITEMS = 10
MARKER = "Conversation state: "
State = dict[str, Any]


def goal_item(goal: dict[str, Any]) -> dict[str, Any]:
    return {"id": goal["id"], "title": goal["title"], "status": goal["status"]}


def deal_item(deal: dict[str, Any]) -> dict[str, Any]:
    """What a reference needs, and no more: the state is in every model call's prompt."""
    item = {"title": str(deal.get("title"))[:60], "price": deal.get("price")}
    item["market"] = deal.get("market")
    if deal.get("discount_percent"):
        item["discount_percent"] = deal["discount_percent"]
    if deal_id := deal.get("id") or deal.get("deal_id"):
        item["id"] = deal_id
    else:  # a search result not saved as a deal: tracked by its page
        item["url"] = deal.get("url")
    return item


def after_turn(previous: State, calls: Iterable[dict[str, Any]]) -> State:
    """The state the next turn starts from: `previous` updated by this turn's tool calls."""
    state = dict(previous)
    for call in calls:
        result = call.get("result")
        if not call.get("ok") or not isinstance(result, dict):
            continue
        name = call.get("name")
        if name in ("create_goal", "update_goal"):
            state["goal"] = goal_item(result["goal"])
        elif name == "list_goals":
            state["goals"] = [goal_item(g) for g in result.get("goals", [])[:MAX_ITEMS]]
            if len(state["goals"]) == 1:
                state["goal"] = state["goals"][0]
        elif name in ("search_markets", "query_deals"):
            shown = result.get("products") or result.get("deals") or []
            state["deals"] = [deal_item(d) for d in shown[:MAX_ITEMS]]
        elif name in ("track_product_url", "price_history"):
            state["deal"] = deal_item(result["deal"])
            if name == "track_product_url":
                state["deals"] = [state["deal"]]
        focus_goal(state, call.get("args"))
    return state


def focus_goal(state: State, args: Any) -> None:
    """A call about a listed goal puts that goal in focus."""
    goal_id = str(args.get("goal_id")) if isinstance(args, dict) else None
    if (state.get("goal") or {}).get("id") == goal_id:
        return  # already in focus, as the tool's own result left it
    for goal in state.get("goals", []):
        if goal["id"] == goal_id:
            state["goal"] = goal


def render(state: State) -> str:
    """For the system prompt: the ids a model needs, and how people refer to them."""
    if not state:
        return ""
    return (
        "The conversation so far showed these (deals numbered #1, #2… in the order shown). "
        "Resolve “it”, “that goal”, “#2”, “the cheapest one” with them; show people titles "
        f"and #numbers, never ids.\n{MARKER}{json.dumps(state, separators=(',', ':'))}"
    )


def parse(text: str) -> State:
    """The state `render` wrote into a system prompt, or {}."""
    at = text.find(MARKER)
    if at < 0:
        return {}
    try:
        found = json.loads(text[at + len(MARKER) :].splitlines()[0])
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def summary(calls: Iterable[dict[str, Any]]) -> str:
    """One short line of what the turn's tools did, for the history window."""
    parts = []
    for call in calls:
        name = call.get("name", "?")
        result = call.get("result")
        if not call.get("ok"):
            parts.append(f"{name} failed")
        elif isinstance(result, dict) and isinstance(result.get("goal"), dict):
            goal = result["goal"]
            parts.append(f"{name}: goal “{goal.get('title')}” {goal.get('status', '')}".rstrip())
        elif isinstance(result, dict):
            sizes = [f"{len(v)} {k}" for k, v in result.items() if isinstance(v, list)]
            parts.append(f"{name}: {', '.join(sizes) or 'done'}")
    return f"[tools: {'; '.join(parts)}]" if parts else ""
