"""Questions about what the user has, read from a request: price histories, spending,
alerts, goals by status; and the words that ask for an order. Patterns only: agent.intents
decides which applies."""

import re
from typing import Any

PRICE_HISTORY_RE = re.compile(
    r"\bprice (?:history|trend|chart|changes?|over time)\b|\bhistor(?:y|ical prices?)\b"
    r"|\bhow (?:has|did|have) (?:the )?(?:price|it|that|they)\b.*\b(?:changed?|moved?|gone|go)\b"
    r"|\b(?:has|did) (?:the price|it|its price)\b.*\b(?:drop|fall|rise|go (?:up|down))",
    re.I,
)
SPENDING_RE = re.compile(
    r"\bhow (?:much|many tokens) (?:did|have|do) i (?:spen[dt]|use[d]?|pa(?:y|id)|burn(?:ed)?)\b"
    r"|\b(?:my )?spending\b|\bwhat (?:did|have) i spen[dt]\b|\bspent (?:today|this|on)\b"
    r"|\bwhat (?:has|did) (?:it|that|this|my \w+ goal) cost(?: me)?\b",
    re.I,
)
NOTIFICATIONS_RE = re.compile(
    r"\b(?:any|new|my|show|list|unread|recent|latest)\b.*\b(?:alerts?|notifications?)\b"
    r"|^\s*(?:alerts?|notifications?)\W*$|\banything new\b|\bany news\b",
    re.I,
)
STATUS_GOALS_RE = re.compile(
    r"\b(?:which|what|show|list|see|view|any|how many)\b.*\bgoals?\b.*"
    r"\b(?:active|paused|cancell?ed|completed|expired|running|on hold|stopped)\b"
    r"|\b(?:active|paused|cancell?ed|completed|expired)\s+goals\b"
    r"|\bwhat am i (?:watching|tracking)\b|\bwhat goals\b|\bdo i have any goals\b",
    re.I,
)
STATUS_WORDS = {
    "running": "active", "on hold": "paused", "stopped": "cancelled", "canceled": "cancelled",
}  # fmt: skip
SORT_WORDS_RE = re.compile(
    r"\b(?:the )?(?:cheapest|lowest price|biggest discount|best discount|by price|by discount)"
    r"(?: first| one| ones)?\b|\bsorted by \w+",
    re.I,
)
PERIOD_RE = re.compile(r"\b(today|this week|week|this month|month|in total|overall|ever)\b", re.I)


def goal_status(lowered: str) -> dict[str, Any]:
    found = re.search(
        r"\b(active|paused|cancell?ed|completed|expired|running|on hold|stopped)\b", lowered
    )
    if not found:
        return {}
    return {"status": STATUS_WORDS.get(found[1], found[1])}
