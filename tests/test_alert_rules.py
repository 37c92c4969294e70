"""The goal rules a deal must meet to count as a match (core.alerts.meets), as pure
functions of a goal and a deal."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.alerts import Observed, meets, price_drop_alerted
from core.models import Deal, Goal
from core.models.enums import DealStatus


def goal(**fields: object) -> Goal:
    return Goal(title="monitor", constraints=fields.pop("constraints", {}), **fields)


def deal(**fields: object) -> Deal:
    values = {
        "title": 'LG 27" 4K Monitor',
        "description": "IPS, USB-C",
        "current_price": Decimal("200"),
        "status": DealStatus.ACTIVE,
        "product_specs": {"brand": "LG"},
        "meta_data": {},
        "last_checked_at": datetime.now(UTC),
        **fields,
    }
    return Deal(**values)


@pytest.mark.parametrize(
    ("rules", "offer", "expected"),
    [
        ({}, {}, True),
        ({"target_price": Decimal("199.99")}, {}, False),
        ({"target_price": Decimal("200")}, {}, True),
        ({"max_budget": Decimal("150")}, {}, False),
        ({"min_discount_percent": Decimal("10")}, {"discount_percent": Decimal("9.99")}, False),
        ({"min_discount_percent": Decimal("10")}, {"discount_percent": Decimal("10")}, True),
        ({}, {"status": DealStatus.SOLD_OUT}, False),
        ({"constraints": {"keywords": ["usb-c"]}}, {}, True),
        ({"constraints": {"keywords": ["hdmi"]}}, {}, False),
        ({"constraints": {"brands": ["Dell", "lg"]}}, {}, True),
        ({"constraints": {"brands": ["Dell"]}}, {}, False),
        ({"constraints": {"condition": "new"}}, {}, True),
        ({"constraints": {"condition": "used"}}, {}, False),
        (
            {"constraints": {"condition": "used"}},
            {"product_specs": {"condition": "Pre-owned - Used"}},
            True,
        ),
        (
            {"constraints": {"condition": "refurbished"}},
            {"product_specs": {"condition": "Certified - Refurbished"}},
            True,
        ),
        (
            {"constraints": {"condition": "used"}},
            {"product_specs": {"condition": "Pre-owned"}},
            True,
        ),
        (
            {"constraints": {"condition": "new"}},
            {"product_specs": {"condition": "Pre-owned"}},
            False,
        ),
        ({"constraints": {"condition": "any"}}, {"product_specs": {"condition": "Used"}}, True),
    ],
)
def test_goal_rules(rules, offer, expected):
    assert meets(goal(**rules), deal(**offer)) is expected


@pytest.mark.parametrize(
    ("rules", "before", "after", "expected"),
    [
        ({}, "200", "180", True),  # 10%: the default threshold
        ({}, "200", "181", False),
        ({"notification_threshold": Decimal("5")}, "200", "190", True),
        ({"target_price": Decimal("195")}, "200", "195", True),  # crossed the target
        ({"target_price": Decimal("195")}, "194", "190", False),  # already under it, small
        ({"max_budget": Decimal("100")}, "200", "150", False),  # still over the budget
        ({}, "180", "180", False),  # unchanged: never again
        ({}, "180", "200", False),  # a rise
        ({}, None, "100", False),  # new: a match, not a drop
    ],
)
def test_price_drops(rules, before, after, expected):
    seen = Observed(
        deal(current_price=Decimal(after)), Decimal(before) if before else None, before is None
    )
    assert price_drop_alerted(goal(**rules), seen) is expected
