"""The two rows of one Connect account: a v1 ``Account`` and a ``V2Account``.

Stripe serves one connected account through both APIs under the same id (``acct_...``):
``/v1/accounts/{id}`` and ``/v2/core/accounts/{id}`` (https://docs.stripe.com/api/v2/core/accounts).
The mirror keeps each answer in its own table, both keyed by that id, so each row links
to the other by its primary key: no column and no constraint, and either row may be
missing (an account created through v1 and never read through v2, or the reverse).
To query across them, match the keys: ``V2Account.objects.filter(pk__in=Account.objects.values("pk"))``.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps


def _other_row(model_name: str, pk: Any) -> Any:
    model = apps.get_model("stripe_django", model_name)
    return model.objects.filter(pk=pk).first()


class HasV2Account:
    """Mixed into the v1 ``Account`` (type_table.MODEL_MIXINS)."""

    pk: Any

    @property
    def v2_account(self) -> Any:
        """The ``V2Account`` row of this account (one query), or None."""
        return _other_row("V2Account", self.pk)


class HasV1Account:
    """Mixed into ``V2Account`` (type_table.MODEL_MIXINS)."""

    pk: Any

    @property
    def v1_account(self) -> Any:
        """The v1 ``Account`` row of this account (one query), or None."""
        return _other_row("Account", self.pk)
