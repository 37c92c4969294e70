"""The saved product pages under tests/pages/ and the benchmark's F1 over them: a predicted
value counts only when exactly right, no prediction where there is a truth value is a
miss, a prediction where the truth is absent is a false positive."""

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGES = Path(__file__).parent / "pages"


@dataclass(frozen=True)
class SavedPage:
    name: str
    url: str
    html: str
    truth: dict[str, str | None]


def saved_pages() -> Iterator[SavedPage]:
    for entry in json.loads((PAGES / "manifest.json").read_text())["pages"]:
        html = gzip.decompress((PAGES / entry["file"]).read_bytes()).decode("utf-8", "replace")
        truth = {k: entry[k] for k in ("price", "currency", "availability", "original_price")}
        yield SavedPage(entry["file"].removesuffix(".html.gz"), entry["url"], html, truth)


def not_product_pages() -> Iterator[tuple[str, str]]:
    """Real saved pages that show no product: (name, html)."""
    for entry in json.loads((PAGES / "manifest.json").read_text())["not_products"]:
        html = gzip.decompress((PAGES / entry["file"]).read_bytes()).decode("utf-8", "replace")
        yield entry["file"], html


def f1(pairs: list[tuple[str | None, str | None]]) -> float:
    """F1 of (predicted, true) pairs, the benchmark's way."""
    right = sum(1 for p, t in pairs if p is not None and p == t)
    predicted = sum(1 for p, _ in pairs if p is not None)
    expected = sum(1 for _, t in pairs if t is not None)
    if not right:
        return 0.0
    precision, recall = right / predicted, right / expected
    return 2 * precision * recall / (precision + recall)


def score(read: Callable[[SavedPage], dict[str, Any]]) -> tuple[dict[str, float], list[str]]:
    """F1 per field over the corpus, and one line per wrong field."""
    pairs: dict[str, list[tuple[str | None, str | None]]] = {}
    wrong = []
    for page in saved_pages():
        seen = read(page)
        for field, truth in page.truth.items():
            guess = None if seen.get(field) is None else str(seen[field])
            pairs.setdefault(field, []).append((guess, truth))
            if guess != truth:
                wrong.append(f"{page.name}: {field} {guess!r}, page says {truth!r}")
    return {field: f1(each) for field, each in pairs.items()}, wrong
