"""Replies people can use, written from tool results: goals by title, deals numbered with
market, price and discount, amounts as people write them, errors in plain words."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from agent.intents import UUID_RE
from core.plain import amount_text

MARKET_NAMES = {
    "amazon": "Amazon", "walmart": "Walmart", "ebay": "eBay", "target": "Target",
    "bestbuy": "Best Buy",
}  # fmt: skip


def number(value: Any) -> Decimal | None:
    try:
        return None if value is None else Decimal(str(value))
    except InvalidOperation:
        return None


def tokens(value: Any) -> str:
    """Tokens to two decimals at most, no trailing zeros: "33.94", "50", "0.1"."""
    amount = number(value) or Decimal(0)
    return amount_text(amount.quantize(Decimal("0.01"), ROUND_HALF_UP))


def plural(count: Any, word: str) -> str:
    shown = count if isinstance(count, str) else str(count)
    return f"{shown} {word}" if number(shown) == 1 else f"{shown} {word}s"


def dollars(value: Any) -> str:
    amount = number(value)
    if amount is None:
        return "—"
    cents = amount.quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"${cents:,.0f}" if cents == cents.to_integral() else f"${cents:,.2f}"


def percent(value: Any) -> str:
    amount = number(value) or Decimal(0)
    return amount_text(amount.quantize(Decimal("0.1"), ROUND_HALF_UP)) + "%"


def market_name(value: Any) -> str:
    return MARKET_NAMES.get(str(value).lower(), str(value).title())


def goal_terms(goal: dict[str, Any]) -> str:
    parts = []
    if goal.get("max_budget"):
        parts.append(f"budget {dollars(goal['max_budget'])}")
    if goal.get("target_price"):
        parts.append(f"target {dollars(goal['target_price'])}")
    if goal.get("min_discount_percent"):
        parts.append(f"at least {percent(goal['min_discount_percent'])} off")
    if goal.get("end_date"):
        parts.append(f"until {goal['end_date'][:10]}")
    return ", ".join(parts)


def goal_line(goal: dict[str, Any]) -> str:
    terms = goal_terms(goal)
    return f"“{goal['title']}” ({goal['status']}{', ' + terms if terms else ''})"


def deal_line(position: int, deal: dict[str, Any]) -> str:
    line = f"#{position} {deal.get('title') or 'a product'}: {dollars(deal.get('price'))}"
    if deal.get("market"):
        line += f" at {market_name(deal['market'])}"
    if number(deal.get("discount_percent")):
        line += f", {percent(deal['discount_percent'])} off"
    if deal.get("status") not in (None, "active"):
        line += f" ({str(deal['status']).replace('_', ' ')})"
    return line


FIELD_NAMES = {
    "end_date": "deadline", "max_budget": "budget", "target_price": "target price",
    "min_discount_percent": "minimum discount", "min_discount": "minimum discount",
    "max_price": "highest price", "min_price": "lowest price", "goal_id": "goal",
    "deal_id": "deal", "url": "link", "query": "search words", "title": "title",
}  # fmt: skip


def plain_error(text: Any) -> str:
    """A tool's error for people: no ids, no argument names, no library wording."""
    raw = str(text).split("with error:", 1)[-1]
    lines = [
        line.strip()
        for line in raw.splitlines()
        if line.strip() and not line.strip().startswith(("For further information", "Please fix"))
    ]
    if not lines:
        return "something went wrong on my side. Please try again."
    first = re.sub(r"^Error: \w+\('?|'?\)$", "", lines[0])
    if re.match(r"^\d+ validation errors? for", first) and len(lines) > 2:
        field = FIELD_NAMES.get(lines[1].split(".")[0], lines[1].replace("_", " "))
        problem = lines[2].split(" [")[0].rstrip(".")
        first = f"the {field} is not valid ({problem[0].lower()}{problem[1:]}). Please correct it"
    first = re.sub(
        r"\bno (goal|deal) " + UUID_RE.pattern + r" among this user's \w+", r"no such \1", first
    )
    first = UUID_RE.sub("that one", first)
    for name, said in FIELD_NAMES.items():
        first = re.sub(rf"\b{name}\b", said, first)
    return first


def after_charge_note(charged: Any, balance: Any) -> str:
    """Appended by the turn to a reply that told a balance (read before the charge)."""
    return (
        f"\n\nAfter this turn's charge of {plural(tokens(charged), 'token')}, "
        f"your balance is {plural(tokens(balance), 'token')}."
    )


def goal_list(data: dict[str, Any], status: str | None) -> str:
    goals = data.get("goals", [])
    kind = f"{status} " if status else ""
    if not goals:
        if status:
            return f"You have no {kind}goals. Say “list my goals” to see them all."
        return "You have no goals yet. Tell me what to watch for, e.g. “watch for a 4K monitor”."
    lines = [f"- {goal_line(g)}" for g in goals]
    return f"Your {plural(len(goals), kind + 'goal')}:\n" + "\n".join(lines)


def goal_changed(goal: dict[str, Any], args: dict[str, Any]) -> str:
    title = f"“{goal['title']}”"
    if args.get("action"):
        after = {
            "paused": "is paused. I won't check it until you say “resume it”.",
            "active": "is active again: I'm checking the markets for it.",
            "cancelled": "is cancelled: I've stopped watching it.",
        }.get(goal["status"], f"is {goal['status']}.")
        return f"Done: {title} {after}"
    return f"Done: {title} now has {goal_terms(goal) or 'no limits'}."


def offers(name: str, data: dict[str, Any], args: dict[str, Any]) -> str:
    shown = (data.get("products") or data.get("deals") or [])[:10]
    order = {"price": ", cheapest first", "discount": ", biggest discount first"}.get(
        str(args.get("sort")), ""
    )
    what = "deal" if name == "query_deals" else "offer"
    if not shown:
        reply = f"I found no {what}s that match."
    else:
        reply = f"Here {'is' if len(shown) == 1 else 'are'} {plural(len(shown), what)}{order}:\n"
        reply += "\n".join(deal_line(i, d) for i, d in enumerate(shown, 1))
    if saved := data.get("saved_as_deals"):
        reply += f"\nI saved {plural(saved, 'deal')} under your goal; I'll keep watching prices."
    missing = [market_name(r["market"]) for r in data.get("markets", []) if r["status"] != "ok"]
    if missing:
        reply += f"\n({', '.join(missing)} did not answer this time.)"
    if shown:
        hint = (
            "price history of #1"
            if all(d.get("id") or d.get("deal_id") for d in shown)
            else "track #1"
        )
        reply += f"\nSay “{hint}” to follow one."
    return reply


def price_story(data: dict[str, Any]) -> str:
    deal, history = data["deal"], data.get("history")
    name = f"{deal['title']} at {market_name(deal.get('market'))}"
    if not history:
        return f"I have no prices recorded for {name} yet."
    if history["observations"] == 1:
        return (
            f"{name}: {dollars(history['current'])}, the only price I've seen so far "
            f"(on {history['since'][:10]}). Ask again after the next check."
        )
    trend = {
        "falling": "it is falling",
        "rising": "it is rising",
        "steady": "it has held steady",
    }[history["trend"]]
    return (
        f"{name}: now {dollars(history['current'])}; lowest {dollars(history['lowest'])}, "
        f"highest {dollars(history['highest'])} over {history['observations']} checks since "
        f"{history['since'][:10]}. Since the first check ({dollars(history['first'])}) {trend}."
    )


def spending_story(data: dict[str, Any]) -> str:
    when = {"today": "Today", "week": "This week", "month": "This month", "all": "In all"}
    about = f" on “{data['goal']['title']}”" if data.get("goal") else ""
    return (
        f"{when[data['period']]} you spent {plural(tokens(data['tokens_spent']), 'token')}{about} "
        f"({plural(data['charges'], 'charge')}), not counting this turn."
    )


def alerts(data: dict[str, Any]) -> str:
    rows = data.get("notifications", [])
    if not rows:
        return "No alerts yet. When a goal finds a match or a price drops, I'll tell you here."
    unread = sum(1 for r in rows if not r["read"])
    lines = [f"- {'(unread) ' if not r['read'] else ''}{r['message']}" for r in rows]
    return f"Your {plural(len(rows), 'latest alert')}, {unread} unread:\n" + "\n".join(lines)


def describe(name: str, data: Any, args: dict[str, Any]) -> str:
    """The reply to a tool's successful result."""
    data = data if isinstance(data, dict) else {}
    if name == "create_goal":
        watching = data.get("watching") or {}
        check = plural(tokens(watching.get("tokens_per_check")), "token")
        return (
            f"Done. I'm watching for {goal_line(data['goal'])}. I'll check the markets "
            f"{watching.get('first_check', 'soon')}, then every "
            f"{watching.get('then_every', 'hour')} ({check} a check); new matches "
            "and price drops come to you as notifications."
        )
    if name == "update_goal":
        return goal_changed(data["goal"], args)
    if name == "list_goals":
        return goal_list(data, args.get("status"))
    if name == "get_balance":
        goals = data["active_goals"]
        watching = plural(goals, "active goal") if goals else "no active goals"
        return (
            f"Before this turn you had {plural(tokens(data['token_balance']), 'token')}; "
            f"you have spent {tokens(data['total_tokens_spent'])} in all and have {watching}."
        )
    if name == "get_spending":
        return spending_story(data)
    if name == "list_notifications":
        return alerts(data)
    if name == "price_history":
        return price_story(data)
    if name == "track_product_url":
        goal = data.get("goal") or {}
        deal = data["deal"]
        reply = (
            f"Tracking {deal['title']} ({dollars(deal.get('price'))} at "
            f"{market_name(deal.get('market'))}) under your goal “{goal.get('title')}”. "
            "I'll keep its price history: say “price history of it” any time."
        )
        if goal.get("status") == "paused":
            reply += " That goal is paused: say “resume it” to have it checked again."
        return reply
    return offers(name, data, args)
