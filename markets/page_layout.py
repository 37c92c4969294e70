"""Where on a product page an element sits: recommendation widgets (related items,
"customers also viewed", recently viewed) show other products with prices, stock and
struck-through prices of their own, which are not the product's."""

from lxml.etree import _Element as Element

# Parts of an id or class (lower case, '-' and '_' removed) naming such a widget.
OTHER_PRODUCTS = (
    "related",
    "recommend",
    "similar",
    "upsell",
    "crosssell",
    "alsobought",
    "alsoviewed",
    "alsolike",
    "youmayalso",
    "recentlyviewed",
)


def names_other_products(element: Element) -> bool:
    named = f"{element.get('id', '')} {element.get('class', '')}".lower()
    named = named.replace("-", "").replace("_", "")
    return any(part in named for part in OTHER_PRODUCTS)


class Layout:
    """The page's own product is where its title (the first <h1>) is: a container holding
    the title is the product's page ("product-page recommendations-visible"), not a
    widget, whatever its class says."""

    def __init__(self, tree: Element) -> None:
        self.title = next(tree.iter("h1"), None)
        self.holds_title = set(self.title.iterancestors()) if self.title is not None else set()

    def in_other_products(self, element: Element) -> bool:
        """The element is, or sits inside, a widget showing other products."""
        return any(
            names_other_products(e) and e not in self.holds_title
            for e in (element, *element.iterancestors())
        )
