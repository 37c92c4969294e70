"""Expected values against what the server answered: subsets of mappings, regular
expressions, numbers equal whatever their spelling ("300" = 300 = "300.00"), and the
`${name}` variables captured by earlier turns."""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from converse.located_yaml import Pattern

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def variables_in(value: Any) -> set[str]:
    """The `${name}` variables a value (text, list, mapping) uses."""
    if isinstance(value, str):
        return set(VARIABLE.findall(value))
    if isinstance(value, dict):
        return set().union(*(variables_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(variables_in(v) for v in value))
    return set()


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """`value` with each `${name}` replaced (the script is checked beforehand: every
    variable is captured by an earlier turn)."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda m: variables[m.group(1)], value)
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    return value


def number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def differences(expected: Any, actual: Any, where: str) -> list[str]:
    """What in `actual` departs from `expected` (empty: it matches). A mapping expects at
    least its keys; a list expects exactly its items; `!re` expects text it is found in."""
    if isinstance(expected, Pattern):
        text = actual if isinstance(actual, str) else None
        if text is None or not expected.regex.search(text):
            return [f"{where}: expected text matching {expected!r}, got {actual!r}"]
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected a mapping, got {actual!r}"]
        found = []
        for key, value in expected.items():
            inner = f"{where}.{key}" if where else key
            if key not in actual:
                found.append(f"{inner}: missing (expected {value!r})")
            else:
                found += differences(value, actual[key], inner)
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in differences(e, a, f"{where}[{i}]")
        ]
    if equal(expected, actual):
        return []
    return [f"{where}: expected {expected!r}, got {actual!r}"]


def equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None:
        return expected is actual  # true, false and null are only themselves
    left, right = number(expected), number(actual)
    if left is not None and right is not None:
        return left == right
    return expected == actual


@dataclass(frozen=True)
class Count:
    """How many: exactly `at_least` when both bounds are one number."""

    at_least: int | None = None
    at_most: int | None = None

    def holds(self, n: int) -> bool:
        return (self.at_least is None or n >= self.at_least) and (
            self.at_most is None or n <= self.at_most
        )

    def __str__(self) -> str:
        if self.at_least == self.at_most:
            return f"exactly {self.at_least}"
        bounds = [f"at least {self.at_least}"] if self.at_least is not None else []
        bounds += [f"at most {self.at_most}"] if self.at_most is not None else []
        return " and ".join(bounds)
