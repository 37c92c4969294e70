"""Reading speed of markets.product_page.parse_product_page over the saved pages in
tests/pages/: median and p99 milliseconds per page, beside lxml's parse alone in the same
run (the floor), and the time and peak memory of reading a 5 MB page. No network: the
pages are read from disk before the clock starts. Run: python -m bench.page_bench"""

import contextlib
import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable

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


def timings(pages: list, work: Callable[[str, str], object]) -> list[float]:
    spent = []
    for _ in range(ROUNDS):
        for page in pages:
            start = time.perf_counter()
            work(page.url, page.html)
            spent.append((time.perf_counter() - start) * 1000)
    return sorted(spent)


def figures(spent: list[float]) -> str:
    p99 = spent[min(len(spent) - 1, int(len(spent) * 0.99))]
    return f"median {statistics.median(spent):.1f} ms, p99 {p99:.1f} ms, max {spent[-1]:.1f} ms"


def read_big_page() -> str:
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
    return (
        f"{elapsed:.0f} ms, peak resident size +{rss_growth / 1000:.0f} MB, "
        f"Python allocations peak {python_peak / 1e6:.0f} MB"
    )


def main() -> None:
    big_page = read_big_page()  # first, so the corpus's peak does not hide its own
    pages = list(saved_pages())
    sizes = sorted(len(page.html) for page in pages)
    print(f"{len(pages)} pages ({sizes[0] // 1000}-{sizes[-1] // 1000} kB), {ROUNDS} rounds")
    # The reference, in the same run: lxml parsing the page and nothing else.
    parse = timings(pages, lambda _url, html: lxml.html.document_fromstring(html))
    read = timings(pages, _read)
    print(f"lxml parse alone:   {figures(parse)}")
    print(f"parse_product_page: {figures(read)}")
    ratio = statistics.median(read) / statistics.median(parse)
    print(f"median reading time / median parse time: {ratio:.1f}")
    print(f"5 MB page: {big_page}")


if __name__ == "__main__":
    main()
