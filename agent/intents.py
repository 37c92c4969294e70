"""Plain-English requests the offline model understands, read into an intent and arguments.

Pure functions of the text (and the current time, for deadlines): no model, no network.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from agent import small_talk
from agent.questions import (
    NOTIFICATIONS_RE,
    PERIOD_RE,
    PRICE_HISTORY_RE,
    SORT_WORDS_RE,
    SPENDING_RE,
    STATUS_GOALS_RE,
    goal_status,
)
from agent.references import deal_ref
from agent.typos import corrected
from core.models.enums import MarketCategory, MarketType

UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)
MONEY = r"\$?\s?(\d[\d,]*(?:\.\d{1,2})?)\s?(?:usd|dollars|bucks)?"
BUDGET_RE = re.compile(
    rf"\b(?:under|below|less than|max(?:imum)?|at most|up to|no more than|budget(?: of| is)?"
    rf"|cheaper than|within)\s*:?\s*{MONEY}",
    re.I,
)
TARGET_RE = re.compile(
    rf"\b(?:target(?: price)?(?: of| is)?|ideally|hoping for"
    rf"|(?:drops?|dips?|falls?|goes|gets|comes)\s+(?:down\s+)?(?:below|under|to))\s*:?\s*{MONEY}",
    re.I,
)
# "…, tell me if one drops below $250": find it now and keep watching (a goal, then a search).
WATCH_RE = re.compile(
    r"\b(?:(?:tell|notify|alert|ping|warn) me|let me know)\s+(?:if|when|once|whenever)\b"
    r"|\bkeep (?:an eye on it|watching|tracking)\b",
    re.I,
)
MIN_PRICE_RE = re.compile(rf"\b(?:over|above|more than|at least)\s*{MONEY}(?!\s*%)", re.I)
DISCOUNT_RE = re.compile(
    r"\b(?:at least\s*|min(?:imum)?\s*(?:discount\s*(?:of\s*)?)?)?(\d{1,2}(?:\.\d+)?|100)\s?%"
    r"\s*(?:off|discount)?",
    re.I,
)
LIMIT_RE = re.compile(r"\b(?:top|first|limit(?: to)?)\s+(\d{1,3})\b", re.I)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
)  # fmt: skip
DEADLINE_RE = re.compile(
    r"\b(?:by|before|until|due)\s+(?P<when>"
    r"\d{4}-\d{2}-\d{2}|tomorrow|tonight|today|next week|next month|the end of the month"
    r"|end of (?:the )?month|the weekend|(?:next\s+)?(?:" + "|".join(WEEKDAYS) + r")"
    r"|(?:" + "|".join(MONTHS) + r")[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?)"
    r"|\b(?:within|in)\s+(?P<count>\d{1,3})\s+(?P<unit>day|week|month)s?\b",
    re.I,
)
# A word in the request -> the product's market category.
CATEGORY_WORDS: dict[MarketCategory, tuple[str, ...]] = {
    MarketCategory.ELECTRONICS: (
        "monitor", "laptop", "tv", "television", "phone", "iphone", "headphone", "earbud",
        "camera", "tablet", "ipad", "console", "playstation", "xbox", "switch", "ssd", "gpu",
        "keyboard", "mouse", "speaker", "router", "electronics", "computer", "watch",
    ),
    MarketCategory.FASHION: (
        "shoe", "sneaker", "jacket", "dress", "shirt", "jeans", "fashion", "boots",
    ),
    MarketCategory.HOME: (
        "sofa", "chair", "desk", "lamp", "vacuum", "mattress", "kitchen", "blender", "home",
    ),
    MarketCategory.BOOKS: ("book", "novel", "kindle", "books"),
    MarketCategory.TOYS: ("lego", "toy", "puzzle", "doll", "toys"),
    MarketCategory.SPORTS: ("bike", "bicycle", "treadmill", "dumbbell", "tent", "yoga", "sports"),
    MarketCategory.AUTOMOTIVE: ("tire", "tyre", "dashcam", "car", "automotive"),
    MarketCategory.HEALTH: ("vitamin", "thermometer", "health"),
    MarketCategory.BEAUTY: ("perfume", "lipstick", "skincare", "beauty"),
    MarketCategory.GROCERY: ("coffee", "tea", "snack", "grocery"),
}  # fmt: skip
MARKET_WORDS = {
    "amazon": MarketType.AMAZON,
    "walmart": MarketType.WALMART,
    "ebay": MarketType.EBAY,
    "target.com": MarketType.TARGET,
    "at target": MarketType.TARGET,
    "on target": MarketType.TARGET,
    "best buy": MarketType.BESTBUY,
    "bestbuy": MarketType.BESTBUY,
}
CREATE_RE = re.compile(
    r"^\s*(?:please\s+)?(?:(?:can|could) you\s+)?(?:create|make|add|set up|start)\s+(?:a\s+)?"
    r"(?:new\s+)?goal\s*(?:for|to (?:find|buy|get)|:)?"
    r"|^\s*(?:please\s+)?(?:watch(?: out)? for|keep an eye (?:out )?(?:on|for)|track|monitor|"
    r"alert me (?:about|when|to|for)|notify me (?:about|when|of)|i(?:'d| would)? (?:want|like|need)"
    r"(?: to buy)?|i'?m looking for|i am looking for|looking for|get me|help me (?:find|buy))\b",
    re.I,
)
SEARCH_RE = re.compile(
    r"^\s*(?:please\s+)?(?:(?:can|could) you\s+)?(?:search|find|look|shop|check prices|compare)"
    r"(?:\s+(?:for|up|the markets for|around for))?\b",
    re.I,
)
DEALS_RE = re.compile(
    r"\b(?:my|saved|stored|found|tracked)\s+deals\b|^\s*(?:show|list|query|see|view|filter|what)"
    r"\b.*\bdeals\b|^\s*deals\b",
    re.I,
)
ACTION_RE = re.compile(
    r"\b(?P<verb>pause|resume|unpause|restart|reactivate|cancel|stop|delete|remove|drop)\b", re.I
)
ACTIONS = {
    "pause": "pause", "resume": "resume", "unpause": "resume", "restart": "resume",
    "reactivate": "resume", "cancel": "cancel", "stop": "cancel", "delete": "cancel",
    "remove": "cancel", "drop": "cancel",
}  # fmt: skip
CHANGE_RE = re.compile(
    rf"\b(?P<field>budget|target(?: price)?|max(?:imum)? price)\b(?P<middle>.*?)\bto\s*{MONEY}",
    re.I,
)
FILLER = {"a", "an", "the", "my", "me", "some", "new", "for", "of", "goal", "one", "please", "it"}


@dataclass
class Intent:
    # help, smalltalk, others, foreign, empty, balance, spending, notifications, list_goals,
    # goal_action, goal_change, deals, price_history, search, track, create, unknown
    kind: str
    args: dict[str, Any] = field(default_factory=dict)
    goal_ref: str | None = None  # words naming a goal, or its id
    deal_ref: str | None = None  # agent.references.deal_ref: "2", "cheapest", "it"…
    text: str = ""  # what was said, for the clarifying question
    about_goal: bool = False  # a search for one of the user's goals
    then_search: bool = False  # a goal to create, then search the markets for at once


def amount(text: str) -> str:
    return text.replace(",", "")


def category_of(text: str) -> MarketCategory | None:
    words = re.findall(r"[a-z]+", text.lower())
    for category, keys in CATEGORY_WORDS.items():
        if any(w.rstrip("s") in keys or w in keys for w in words):
            return category
    return None


def markets_in(text: str) -> list[str]:
    lowered = text.lower()
    return sorted({m.value for word, m in MARKET_WORDS.items() if word in lowered})


def deadline(match: re.Match[str], now: datetime) -> datetime:
    """End of the named day (UTC)."""
    end_of = lambda day: datetime.combine(day, time(23, 59, 59), UTC)  # noqa: E731
    today = now.date()
    if match["count"]:
        unit = {"day": 1, "week": 7, "month": 30}[match["unit"].lower()]
        return end_of(today + timedelta(days=int(match["count"]) * unit))
    when = match["when"].lower()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", when):
        return end_of(datetime.fromisoformat(when).date())
    relative = {"today": 0, "tonight": 0, "tomorrow": 1, "next week": 7, "next month": 30}
    if when in relative:
        return end_of(today + timedelta(days=relative[when]))
    if "month" in when:
        first_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return end_of(first_next - timedelta(days=1))
    if when == "the weekend":
        when = "sunday"
    day_name = when.split()[-1]
    if day_name in WEEKDAYS:
        ahead = (WEEKDAYS.index(day_name) - today.weekday()) % 7 or 7
        return end_of(today + timedelta(days=ahead + (7 if when.startswith("next") else 0)))
    month_word, day_num = re.match(r"([a-z]+)\.?\s+(\d+)", when).groups()  # type: ignore[union-attr]
    month = MONTHS.index(month_word[:3]) + 1
    candidate = today.replace(month=month, day=int(day_num))
    if candidate < today:
        candidate = candidate.replace(year=candidate.year + 1)
    return end_of(candidate)


def price_filters(text: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if m := BUDGET_RE.search(text):
        args["max_price"] = amount(m[1])
    if m := MIN_PRICE_RE.search(text):
        args["min_price"] = amount(m[1])
    if m := DISCOUNT_RE.search(text):
        args["min_discount"] = m[1]
    return args


def clean_title(text: str, spans: list[re.Pattern[str]]) -> str:
    for pattern in spans:
        text = pattern.sub(",", text)
    for piece in re.split(r"[,.;!?]|\s+(?:with|and|in the|in)\s+", text):
        words = [w for w in piece.split() if w.lower() not in FILLER]
        while words and words[-1].lower() in {"at", "on", "from", "that", "which", "costs", "is"}:
            words.pop()
        if words:
            return " ".join(words)[:255]
    return ""


def read_goal_request(text: str, now: datetime) -> Intent:
    body = CREATE_RE.sub("", text, count=1)
    args: dict[str, Any] = {}
    budget_text = body
    if m := TARGET_RE.search(body):
        args["target_price"] = amount(m[1])
        budget_text = body[: m.start()] + "," + body[m.end() :]  # "drops below $250" is no budget
    if m := BUDGET_RE.search(budget_text):
        args["max_budget"] = amount(m[1])
    if m := DISCOUNT_RE.search(body):
        args["min_discount_percent"] = m[1]
    if m := DEADLINE_RE.search(body):
        try:
            args["end_date"] = deadline(m, now).isoformat()
        except ValueError:  # "by feb 30": the tool says what is wrong with it
            args["end_date"] = m[0]
    named = re.search(
        r"\bin (?:the )?(" + "|".join(c.value for c in MarketCategory) + r")\b", body, re.I
    )
    category = MarketCategory(named[1].lower()) if named else category_of(body)
    if category:
        args["category"] = category.value
    if re.search(r"\b(urgent|asap|high priority)\b", body, re.I):
        args["priority"] = "high"
    condition = re.search(r"\b(new|used|refurbished)\b", body, re.I)
    cleaned = re.sub(
        r"\b(?:urgent|asap|high priority|brand new|refurbished|used)\b", "", body, flags=re.I
    )
    patterns = [
        WATCH_RE,
        TARGET_RE,
        BUDGET_RE,
        DISCOUNT_RE,
        DEADLINE_RE,
        re.compile(r"\bin (?:the )?\w+ category\b", re.I),
    ]
    title = clean_title(cleaned, patterns)
    if not title:
        return Intent("unknown")
    args["title"] = title
    constraints: dict[str, Any] = {
        "keywords": [w for w in re.findall(r"[\w-]+", title.lower()) if len(w) > 1]
    }
    if condition and condition[1].lower() != "new":
        constraints["condition"] = condition[1].lower()
    args["constraints"] = constraints
    return Intent("create", args)


def read(text: str, now: datetime | None = None) -> Intent:
    """The intent of one user message."""
    intent = read_request(corrected(text), now or datetime.now(UTC))
    intent.text = text
    return intent


def follow_on(intent: Intent, previous: str | None, now: datetime | None = None) -> Intent:
    """An elliptical message ("and of #2?", "and on the monitor goal?") read as the same
    kind of request as the one before it."""
    if intent.kind != "unknown" or not previous:
        return intent
    before = read(previous, now)
    if before.kind == "price_history" and (ref := deal_ref(intent.text)):
        return Intent("price_history", deal_ref=ref, text=intent.text)
    rest = re.sub(r"^\s*(?:and|what about|how about|also|same for)\s*", "", intent.text, flags=re.I)
    if rest != intent.text and before.kind in {"spending", "deals", "search", "list_goals"}:
        again = read(f"{previous.rstrip('?.! ')} {rest}", now)
        if again.kind == before.kind:
            return again
    return intent


def read_request(text: str, now: datetime) -> Intent:
    lowered = text.lower().strip()
    goal_id = UUID_RE.search(text)
    if re.fullmatch(r"(help|\?|what can you do\??|how does (this|it) work\??)[.!]?", lowered):
        return Intent("help")
    if small_talk.unreadable(text):
        return Intent("empty")
    if small_talk.OTHERS_RE.search(text):
        return Intent("others")
    if small_talk.foreign(text):
        return Intent("foreign")
    if answer := small_talk.small_talk(text):
        return Intent("smalltalk", {"reply": answer})
    if url := re.search(r"https?://\S+", text):
        ref = goal_ref(text.replace(url[0], ""), goal_id) if "goal" in lowered else None
        return Intent("track", {"url": url[0].rstrip(".,)")}, ref)
    if PRICE_HISTORY_RE.search(text):
        return Intent("price_history", deal_ref=deal_ref(text) or "it")
    if re.match(r"^\s*(?:please\s+)?(?:track|follow|watch|save)\b", text, re.I) and (
        ref := deal_ref(text)
    ):
        return Intent("track", {}, goal_ref(text) if "goal" in lowered else None, ref)
    if SPENDING_RE.search(text):
        return read_spending(text, goal_id)
    if re.search(r"\b(balance|how many tokens|tokens (do i have|left)|credits?)\b", lowered):
        return Intent("balance")
    if NOTIFICATIONS_RE.search(text) and not CREATE_RE.match(text):
        return Intent("notifications")
    if (m := CHANGE_RE.search(text)) and ("goal" in lowered or goal_id or "budget" in lowered):
        field_name = (
            "max_budget"
            if "budget" in m["field"].lower() or "max" in m["field"].lower()
            else "target_price"
        )
        ref = re.sub(
            r"\b(change|set|raise|lower|update|increase|decrease|of)\b",
            "",
            text[: m.start()] + m["middle"],
            flags=re.I,
        )
        return Intent("goal_change", {field_name: amount(m[3])}, goal_ref(ref, goal_id))
    if (m := ACTION_RE.search(text)) and not SEARCH_RE.match(text):
        rest = text[m.end() :]
        return Intent(
            "goal_action", {"action": ACTIONS[m["verb"].lower()]}, goal_ref(rest, goal_id)
        )
    if STATUS_GOALS_RE.search(text) or re.search(
        r"\b(list|show|see|what are|view)\b.*\bgoals\b|^\s*(my\s+)?goals\??$", lowered
    ):
        return Intent("list_goals", goal_status(lowered))
    if DEALS_RE.search(text) and not (SEARCH_RE.match(text) and "my deals" not in lowered):
        if re.search(r"\b(those|these|them|the same) deals\b", lowered):
            return Intent("deals", deal_filters(text, True), "those")
        about = "goal" in lowered or goal_id is not None
        return Intent(
            "deals", deal_filters(text, about), goal_ref(text, goal_id) if about else None
        )
    if SEARCH_RE.match(text):
        if WATCH_RE.search(text) and not goal_id:
            wanted = read_goal_request(SEARCH_RE.sub("", text, count=1), now)
            if wanted.kind == "create":
                wanted.then_search = True
                return wanted
        return read_search(text, goal_id)
    if CREATE_RE.match(text):
        return read_goal_request(text, now)
    return Intent("unknown")


def read_spending(text: str, goal_id: re.Match[str] | None) -> Intent:
    period = PERIOD_RE.search(text)
    word = period[1].lower() if period else "all"
    args = {"period": next((p for p in ("today", "week", "month") if p in word), "all")}
    about = re.search(r"\bon (.*\bgoal\b.*|it|that|this one)", text, re.I)
    ref = goal_ref(PERIOD_RE.sub("", about[1]) if about else "", goal_id)
    return Intent("spending", args, ref if about or goal_id else None)


def goal_ref(text: str, goal_id: re.Match[str] | None) -> str:
    if goal_id:
        return goal_id[0]
    words = [
        w
        for w in re.findall(r"[\w-]+", text.lower())
        if w not in FILLER | {"goal", "goals", "watching", "tracking", "the", "on", "to", "please"}
    ]
    return " ".join(words)


def sort_asked(lowered: str) -> str | None:
    if re.search(r"\b(cheapest|lowest price|by price|price)\b", lowered):
        return "price"
    if re.search(r"\b(biggest|largest|best|highest) discount|\bby discount\b", lowered):
        return "discount"
    if re.search(r"\b(newest|latest|recent)\b", lowered):
        return "newest"
    return None


def deal_filters(text: str, about_goal: bool) -> dict[str, Any]:
    lowered = text.lower()
    args = price_filters(text)
    if sort := sort_asked(lowered):
        args["sort"] = sort
    if m := LIMIT_RE.search(text):
        args["limit"] = int(m[1])
    if markets := markets_in(text):
        args["market"] = markets[0]
    # A goal's deals are found by the goal; its title words say nothing of category.
    if not about_goal and (category := category_of(text.replace("deals", ""))):
        args["category"] = category.value
    return args


def read_search(text: str, goal_id: re.Match[str] | None) -> Intent:
    body = SEARCH_RE.sub("", text, count=1)
    if re.search(r"\b(my|the|this|that)\b[\w\s-]*\bgoal\b", body, re.I) or goal_id:
        ref = goal_ref(re.sub(r"\bdeals?\b", "", body, flags=re.I), goal_id)
        wanted = price_filters(body)
        if (sort := sort_asked(body.lower())) in ("price", "discount"):
            wanted["sort"] = sort
        return Intent("search", wanted, ref, about_goal=True)
    args = price_filters(body)
    args.pop("min_price", None)  # search_markets filters by max_price only
    if (sort := sort_asked(body.lower())) in ("price", "discount"):  # live offers have no age
        args["sort"] = sort
    if markets := markets_in(body):
        args["markets"] = markets
    if category := category_of(body):
        args["category"] = category.value
    patterns = [
        BUDGET_RE,
        MIN_PRICE_RE,
        DISCOUNT_RE,
        re.compile(r"\b(on|at|from)\s+(amazon|walmart|ebay|target|best buy|bestbuy)\b", re.I),
        re.compile(r"\bdeals?\b", re.I),
        SORT_WORDS_RE,
    ]
    query = clean_title(body, patterns)
    if not query:
        return Intent("unknown")
    args["query"] = query
    return Intent("search", args)
