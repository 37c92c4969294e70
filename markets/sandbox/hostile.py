"""The words of one sandbox product that attacks whoever shows it: its title and brand (an
eBay seller's name is made from the brand) hold a script, an image whose onerror runs code
and a javascript: link in markdown. Search "hostile gadget" to get it; a page that renders
any of it as markup sets window.__pwned."""

TITLE = (
    '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1"> '
    "Hostile Gadget [free gift](javascript:window.__pwned=1)"
)
BRAND = "<img src=x onerror=window.__pwned=1>"
DESCRIPTION = f'{BRAND} <a href="javascript:window.__pwned=1">details</a>'
