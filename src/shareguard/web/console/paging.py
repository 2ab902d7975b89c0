"""Numbered pages for every console list: ``?page=N``, the total from a count query.

A list page asks its service for one page of rows and the total (never a capped count),
then hands ``Paging`` to the template's ``pager`` macro: "Showing 51 to 100 of 126,000"
and the GOV.UK pagination component, whose links keep the page's other query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

#: Rows on one page of a console list.
PAGE = 50


def page_number(request: Request) -> int:
    """The page asked for (1 when absent or not a positive whole number)."""
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**7 else 1


@dataclass(frozen=True)
class Paging:
    """One page of a list: its number, size and the list's total."""

    number: int
    total: int
    size: int = PAGE

    @classmethod
    def of(cls, request: Request, size: int = PAGE) -> Paging:
        """The requested page, before the total is known (``with_total`` clamps it)."""
        return cls(page_number(request), 0, size)

    def with_total(self, total: int) -> Paging:
        """This page with the list's total; a page past the end becomes the last page."""
        pages = max(1, -(-total // self.size))
        return Paging(min(self.number, pages), total, self.size)

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first(self) -> int:
        """The 1-based position of the page's first row (0 for an empty list)."""
        return 0 if self.total == 0 else self.offset + 1

    @property
    def last(self) -> int:
        return min(self.total, self.offset + self.size)

    def links(self, request: Request) -> dict[str, Any] | None:
        """GOV.UK pagination parameters, or None for a single page."""
        if self.pages <= 1:
            return None
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]

        def href(n: int) -> str:
            return f"{request.url.path}?{urlencode([*kept, ('page', str(n))])}"

        near = {1, self.pages, self.number - 1, self.number, self.number + 1}
        shown = sorted(n for n in near if 1 <= n <= self.pages)
        items: list[dict[str, Any]] = []
        for n in shown:
            if items and n - items[-1]["number"] > 1:
                items.append({"ellipsis": True, "number": n - 1})
            items.append({"number": n, "href": href(n), "current": n == self.number})
        for item in items:
            if item.get("ellipsis"):
                del item["number"]
        out: dict[str, Any] = {"items": items}
        if self.number > 1:
            out["previous"] = {"href": href(self.number - 1)}
        if self.number < self.pages:
            out["next"] = {"href": href(self.number + 1)}
        return out

    def context(self, request: Request) -> dict[str, Any]:
        """What the ``pager`` macro reads."""
        return {
            "total": self.total,
            "first": self.first,
            "last": self.last,
            "pages": self.pages,
            "number": self.number,
            "links": self.links(request),
        }
