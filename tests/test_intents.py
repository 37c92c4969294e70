"""What the offline model reads from plain English (the README's example phrases)."""

from datetime import UTC, datetime

import pytest

from agent.intents import follow_on, read

pytestmark = pytest.mark.once  # no database: one CI pass is enough

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "kind", "args"),
    [
        (
            "Watch for a 27-inch 4K monitor under $300 by Friday, at least 15% off",
            "create",
            {
                "title": "27-inch 4K monitor",
                "max_budget": "300",
                "min_discount_percent": "15",
                "end_date": "2026-11-27T23:59:59+00:00",
                "category": "electronics",
            },
        ),
        (
            "Create a goal for Sony WH-1000XM5 headphones, budget $350, target $280, "
            "by 2026-12-24, in electronics",
            "create",
            {"title": "Sony WH-1000XM5 headphones", "max_budget": "350", "target_price": "280"},
        ),
        (
            "I'm looking for a used lego millennium falcon under 500 dollars within 2 weeks",
            "create",
            {
                "title": "lego millennium falcon",
                "category": "toys",
                "end_date": "2026-12-09T23:59:59+00:00",
            },
        ),
        (
            "Search for a mechanical keyboard under $100 on Amazon",
            "search",
            {"query": "mechanical keyboard", "max_price": "100", "markets": ["amazon"]},
        ),
        ("Find a standing desk", "search", {"query": "standing desk", "category": "home"}),
        ("Show my deals", "deals", {}),
        (
            "Show my deals under $300, biggest discount first",
            "deals",
            {"max_price": "300", "sort": "discount"},
        ),
        ("List my goals", "list_goals", {}),
        ("Show my paused goals", "list_goals", {"status": "paused"}),
        ("Pause the monitor goal", "goal_action", {"action": "pause"}),
        ("Resume my monitor goal", "goal_action", {"action": "resume"}),
        ("Stop watching the headphones", "goal_action", {"action": "cancel"}),
        ("Change the budget of my monitor goal to $350", "goal_change", {"max_budget": "350"}),
        (
            "Set the target price of my headphones goal to 250",
            "goal_change",
            {"target_price": "250"},
        ),
        ("What's my balance?", "balance", {}),
        ("How many tokens do I have?", "balance", {}),
        ("help", "help", {}),
        ("what can you do?", "help", {}),
        (
            "Track https://www.amazon.com/dp/B0EXAMPLE",
            "track",
            {"url": "https://www.amazon.com/dp/B0EXAMPLE"},
        ),
    ],
)
def test_phrases(text: str, kind: str, args: dict):
    intent = read(text, NOW)
    assert intent.kind == kind
    assert {k: intent.args.get(k) for k in args} == args


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("Pause the monitor goal", "monitor"),
        (
            "Cancel goal 3f2a5b6c-1234-4abc-8def-0123456789ab",
            "3f2a5b6c-1234-4abc-8def-0123456789ab",
        ),
        ("Search deals for my monitor goal", "monitor"),
        ("Change the budget of my monitor goal to $350", "monitor"),
    ],
)
def test_goal_references(text: str, ref: str):
    assert read(text, NOW).goal_ref == ref


def test_deadlines_are_the_end_of_the_named_day():
    assert read("watch for a tv by tomorrow", NOW).args["end_date"] == "2026-11-26T23:59:59+00:00"
    assert read("watch for a tv by dec 3", NOW).args["end_date"] == "2026-12-03T23:59:59+00:00"
    assert (
        read("watch for a tv by next friday", NOW).args["end_date"] == "2026-12-04T23:59:59+00:00"
    )
    assert (
        read("watch for a tv by the end of the month", NOW)
        .args["end_date"]
        .startswith("2026-11-30")
    )


@pytest.mark.parametrize(
    "text",
    [
        "find me a 27-inch 4K monitor under $300, tell me if one drops below $250",
        "Search for a 27-inch 4K monitor under $300 and let me know when it drops to $250",
    ],
)
def test_find_and_tell_me_is_a_goal_searched_at_once(text: str):
    intent = read(text, NOW)
    assert (intent.kind, intent.then_search) == ("create", True)
    assert intent.args["title"] == "27-inch 4K monitor"
    assert (intent.args["max_budget"], intent.args["target_price"]) == ("300", "250")


def test_a_plain_search_or_goal_does_not_become_both():
    assert read("Search for a 4K monitor under $300", NOW).kind == "search"
    watch = read("Watch for a 4K monitor under $300, tell me if one drops below $250", NOW)
    assert (watch.kind, watch.then_search) == ("create", False)
    assert (watch.args["max_budget"], watch.args["target_price"]) == ("300", "250")


@pytest.mark.parametrize(
    ("text", "kind", "args", "goal_ref", "deal_ref"),
    [
        ("what's the price history of the cheapest one?", "price_history", {}, None, "cheapest"),
        ("price trend of #3", "price_history", {}, None, "3"),
        ("how has the price of the second one changed?", "price_history", {}, None, "2"),
        ("pause that goal", "goal_action", {"action": "pause"}, "that", None),
        ("which of my goals are active?", "list_goals", {"status": "active"}, None, None),
        ("do I have any goals on hold", "list_goals", {"status": "paused"}, None, None),
        ("how much did I spend today?", "spending", {"period": "today"}, None, None),
        ("how much have I spent this week", "spending", {"period": "week"}, None, None),
        ("how much did I spend on my TV goal?", "spending", {"period": "all"}, "tv", None),
        ("any alerts?", "notifications", {}, None, None),
        ("thanks!", "smalltalk", {}, None, None),
        ("track the second one", "track", {}, None, "2"),
        ("show those deals again, cheapest first", "deals", {"sort": "price"}, "those", None),
        ("find the cheapest 4K monitor under $300", "search", {"sort": "price"}, None, None),
        ("wacth for a gaming laptop under $1200", "create", {"max_budget": "1200"}, None, None),
        ("🙂", "empty", {}, None, None),
        ("busco un monitor barato", "foreign", {}, None, None),
        ("list the goals of bob@example.com", "others", {}, None, None),
        ("tell me a joke", "unknown", {}, None, None),
    ],
)
def test_conversational_phrases(text, kind, args, goal_ref, deal_ref):
    intent = read(text, NOW)
    assert (intent.kind, intent.goal_ref, intent.deal_ref) == (kind, goal_ref, deal_ref)
    assert {k: intent.args.get(k) for k in args} == args


def test_an_elliptical_follow_up_repeats_the_request_before_it():
    before = "what's the price history of the cheapest one?"
    again = follow_on(read("and of #2?", NOW), before, NOW)
    assert (again.kind, again.deal_ref) == ("price_history", "2")
    spent = follow_on(read("and on the monitor goal?", NOW), "how much did I spend today?", NOW)
    assert (spent.kind, spent.goal_ref) == ("spending", "monitor")
