"""A paginator for large tables: no ``COUNT(*)``, one query per page.

Counting every row of a mirror of millions of charges takes seconds on PostgreSQL and
MySQL. The admin only needs to know whether there is a next page, so the page is read
with one row more than it shows: the count it reports is exact up to the current page
(and exact altogether when that extra row is absent), which is what the changelist's
pagination template (``admin/stripe_django/pagination.html``) says.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class LookaheadPaginator(Paginator):
    def __init__(self, object_list, per_page, *, page_number: int = 1, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(1, page_number)
        self._rows: list | None = None

    def _page_rows(self) -> list:
        """The rows of the current page and, when there is a next page, one more."""
        if self._rows is None:
            start = (self.page_number - 1) * self.per_page
            self._rows = list(self.object_list[start:start + self.per_page + 1])
        return self._rows

    @cached_property
    def count(self) -> int:
        return (self.page_number - 1) * self.per_page + len(self._page_rows())

    @property
    def exact(self) -> bool:
        """The count is the number of rows (no row beyond the current page)."""
        return len(self._page_rows()) <= self.per_page

    def page(self, number):
        number = self.validate_number(number)
        if number == self.page_number:
            return self._get_page(self._page_rows()[:self.per_page], number, self)
        return super().page(number)


def page_number_of(request, page_var: str = "p") -> int:
    """The page the changelist shows (Django's ``?p=``, 1-based); 1 when absent or bad
    (the changelist itself reports a bad value)."""
    try:
        return int(request.GET.get(page_var, 1))
    except (TypeError, ValueError):
        return 1
