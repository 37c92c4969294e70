"""Reading speed of markets.product_page.parse_product_page over the saved pages in
tests/pages/: median and p99 milliseconds per page, beside lxml's parse alone in the same
run (the floor), and the time and peak memory of reading a 5 MB page. No network: the
pages are read from disk before the clock starts. Run: python -m bench --only pages"""

import contextlib
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import lxml.html

from markets.product_page import MAX_PAGE_BYTES, NotAProductPage, parse_product_page
from tests.page_corpus import saved_pages

ROUNDS = 5


def _read(url: str, html: str) -> None:
    with contextlib.suppress(NotAProductPage):
        parse_product_page(url, html)


def five_megabyte_page() -> str:
    offer = (
        '<script type="application/ld+json">{"@type":"Product","name":"Big",'
        '"offers":{"@type":"Offer","price":"9.99","priceCurrency":"USD"}}</script>'
    )
    row = "<div class='row'><span class='price'>$1.00</span> filler text</div>"
    return offer + row * ((MAX_PAGE_BYTES - len(offer)) // len(row))


def timings(pages: list, rounds: int, work: Callable[[str, str], object]) -> list[float]:
    spent = []
    for _ in range(rounds):
        for page in pages:
            start = time.perf_counter()
            work(page.url, page.html)
            spent.append((time.perf_counter() - start) * 1000)
    return sorted(spent)


def figures(name: str, spent: list[float]) -> dict[str, Any]:
    p99 = spent[min(len(spent) - 1, int(len(spent) * 0.99))]
    median = statistics.median(spent)
    return {"reader": name, "median_ms": median, "p99_ms": p99, "max_ms": spent[-1]}


def read_big_page() -> dict[str, Any]:
    """Time and peak memory of reading a 5 MB page: Python's own allocations (tracemalloc)
    and the process's peak resident size (lxml's tree lives outside Python's heap)."""
    big = five_megabyte_page()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    _read("https://shop.example/big", big)
    elapsed = (time.perf_counter() - start) * 1000
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    tracemalloc.start()
    _read("https://shop.example/big", big)
    python_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "5MB_page_ms": round(elapsed),
        "5MB_page_peak_rss_growth_MB": round(rss_growth / 1000),
        "5MB_page_python_peak_MB": round(python_peak / 1e6),
    }


def pages_section(quick: bool) -> dict[str, Any]:
    big_page = read_big_page()  # first, so the corpus's peak does not hide its own
    pages = list(saved_pages())
    rounds = 1 if quick else ROUNDS
    # The reference, in the same run: lxml parsing the page and nothing else.
    parse = timings(pages, rounds, lambda _url, html: lxml.html.document_fromstring(html))
    read = timings(pages, rounds, _read)
    return {
        "pages": len(pages),
        "rounds": rounds,
        "rows": [figures("lxml parse alone", parse), figures("parse_product_page", read)],
        "median_read_over_median_parse": statistics.median(read) / statistics.median(parse),
        **big_page,
    }
