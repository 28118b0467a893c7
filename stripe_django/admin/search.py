"""Searching a list by a customer's email address.

A support person has an email, not an id. Django's search (``email`` in ``search_fields``)
finds customers, but an invoice, a charge or a subscription keeps only the customer's id.
A term that looks like an address is therefore looked up on every email column the
model has (``customer_email``, ``receipt_email``: :data:`.table.EMAIL_FIELDS`) and
through the ``customer`` reference: ``customer_id IN (SELECT id FROM customer WHERE
email = ...)``. Both sides are equality tests on indexed columns (``email`` on customers,
the foreign key, ``customer_email`` on invoices), so the search reads a few index
entries, not the table.

Stripe keeps addresses as they were typed. The exact address and its lower-case form
are tried first (indexed); only when neither matches anything is the address compared
without regard to case, which reads the customers' email column whole.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q, QuerySet

from . import table


def looks_like_email(term: str) -> bool:
    """One word with an ``@`` inside (not a partial search such as ``@example.com``)."""
    local, at, domain = term.partition("@")
    return bool(at and local and domain) and not any(c.isspace() for c in term)


# A customer address shared by more customers than this is not a support search; the
# list shows the rows of the first ones.
MAX_CUSTOMERS = 1000


def _customer_model() -> type[models.Model] | None:
    from ..ingest.columns import model_for

    return model_for("customer")


def _matches(name: str, addresses: list[str], exact: bool) -> Q:
    if exact:
        return Q(**{f"{name}__in": addresses})
    condition = Q()
    for address in addresses:
        condition |= Q(**{f"{name}__iexact": address})
    return condition


def email_condition(model: type[models.Model], addresses: list[str], *, exact: bool = True) -> Q | None:
    """The rows of ``model`` that belong to one of ``addresses``, or None when the model
    has no email column and no reference to a customer.

    The customers are looked up first (one query on their email's index) and their ids
    put in the condition: ``customer_id IN (ids) OR customer_email IN (...)`` is two
    index scans, where a subquery in the OR made PostgreSQL read the whole table."""
    fields = {f.name: f for f in model._meta.concrete_fields}
    conditions = [_matches(name, addresses, exact) for name in table.EMAIL_FIELDS
                  if isinstance(fields.get(name), (models.TextField, models.CharField))]
    customer = _customer_model()
    reference = fields.get("customer")
    if (customer is not None and model is not customer and isinstance(reference, models.ForeignKey)
            and reference.related_model is customer):
        owners = list(customer._base_manager.filter(_matches("email", addresses, exact))
                      .order_by().values_list("pk", flat=True)[:MAX_CUSTOMERS])
        conditions.append(Q(**{f"{reference.attname}__in": owners}))
    if not conditions:
        return None
    condition = conditions[0]
    for other in conditions[1:]:
        condition |= other
    return condition


def search_by_email(queryset: QuerySet, term: str) -> QuerySet | None:
    """The rows of ``queryset`` belonging to the address ``term``, or None when the model
    has nothing to match an address against (Django's own search then runs)."""
    addresses = list(dict.fromkeys([term, term.lower()]))
    condition = email_condition(queryset.model, addresses)
    if condition is None:
        return None
    found = queryset.filter(condition)
    if found.exists():
        return found
    return queryset.filter(email_condition(queryset.model, [term], exact=False))
