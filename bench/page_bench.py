"""Reading speed of markets.product_page.parse_product_page over the saved pages in
tests/pages/: median and p99 milliseconds per page, and the peak memory of reading a
5 MB page. No network: the pages are read from disk before the clock starts."""

import contextlib
import statistics
import time
import tracemalloc

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


def main() -> None:
    pages = list(saved_pages())
    timings = []
    for _ in range(ROUNDS):
        for page in pages:
            start = time.perf_counter()
            _read(page.url, page.html)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    sizes = sorted(len(page.html) for page in pages)
    print(f"{len(pages)} pages ({sizes[0] // 1000}-{sizes[-1] // 1000} kB), {ROUNDS} rounds")
    print(f"median {statistics.median(timings):.1f} ms, p99 {p99:.1f} ms, max {timings[-1]:.1f} ms")
    big = five_megabyte_page()
    tracemalloc.start()
    start = time.perf_counter()
    _read("https://shop.example/big", big)
    elapsed = (time.perf_counter() - start) * 1000
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"5 MB page: {elapsed:.0f} ms, peak Python memory {peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
