"""Words that point back at what the conversation showed: "#2", "the second one", "the
cheapest one", "it", "that goal". Read here; resolved against agent.state in offline_plan."""

import re
from decimal import Decimal, InvalidOperation
from typing import Any

ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7, "eighth": 8, "8th": 8,
    "ninth": 9, "9th": 9, "tenth": 10, "10th": 10, "last": -1,
}  # fmt: skip
DEAL_REF_RE = re.compile(
    r"#\s?(?P<number>\d{1,2})\b|\b(?:number|no\.?|item|deal|result)\s?(?P<spoken>\d{1,2})\b"
    r"|\b(?P<ordinal>" + "|".join(ORDINALS) + r")\s+(?:one|deal|item|result|offer|product|link)\b"
    r"|\bthe (?P<nth>" + "|".join(ORDINALS) + r")\b"
    r"|\b(?P<cheapest>cheapest|lowest[- ]priced|least expensive)\b"
    r"|\b(?P<discount>biggest|largest|best) (?:discount|deal|saving)\b"
    r"|\b(?P<dearest>most expensive|priciest)\b"
    r"|\b(?P<pointer>it|that|this|that one|this one|that deal|this deal|them|those)\b",
    re.I,
)
# A goal named by these alone is the one the conversation is about.
POINTER_WORDS = {
    "that", "this", "it", "same", "its", "them", "those", "one",
    "again", "now", "too", "also", "back", "then", "ok", "okay", "and",
}  # fmt: skip


def deal_ref(text: str) -> str | None:
    """ "2", "-1", "cheapest", "discount", "dearest" or "it"; None when nothing points back."""
    if not (m := DEAL_REF_RE.search(text)):
        return None
    if number := m["number"] or m["spoken"]:
        return number
    if word := m["ordinal"] or m["nth"]:
        return str(ORDINALS[word.lower()])
    for kind in ("cheapest", "discount", "dearest"):
        if m[kind]:
            return kind
    return "it"


def price_of(deal: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(deal.get("price")))
    except InvalidOperation:
        return Decimal("Infinity")


def discount_of(deal: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(deal.get("discount_percent") or 0))
    except InvalidOperation:
        return Decimal(0)


def pick_deal(ref: str, state: dict[str, Any]) -> dict[str, Any] | str:
    """The deal `ref` points at, or a question/explanation for the user."""
    shown: list[dict[str, Any]] = state.get("deals") or []
    if ref == "it" and state.get("deal"):
        return state["deal"]
    if not shown:
        return (
            "Which deal do you mean? Say “show my deals” (or search for something) first, "
            "then refer to one by its number, e.g. “price history of #2”."
        )
    if ref == "cheapest":
        return min(shown, key=price_of)
    if ref == "dearest":
        return max(shown, key=price_of)
    if ref == "discount":
        return max(shown, key=discount_of)
    if ref == "it":
        if len(shown) == 1:
            return shown[0]
        return f"Which one do you mean? Say a number from #1 to #{len(shown)}."
    index = int(ref)
    if index == -1:
        return shown[-1]
    if 1 <= index <= len(shown):
        return shown[index - 1]
    return f"There is no #{index}: I showed {len(shown)}. Say a number from #1 to #{len(shown)}."


def points_back(goal_words: str | None) -> bool:
    """A goal named only by "it", "that", "this one"…"""
    words = set(re.findall(r"[\w-]+", (goal_words or "").lower()))
    return bool(words) and words <= POINTER_WORDS
