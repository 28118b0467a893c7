"""The abstract base of every mirrored Stripe model. Nothing type-specific lives here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from django.db import models

from . import display
from .fields import StripeIdField

if TYPE_CHECKING:
    from stripe import RequestOptions, StripeObject

    from ..mirror.rows import ServiceProxy


class StripeQuerySet(models.QuerySet):
    def existing(self) -> "StripeQuerySet":
        """Rows of objects that have not been deleted in Stripe."""
        return self.filter(deleted=False)

    def for_account(self, account: str | None) -> "StripeQuerySet":
        """Rows of one connected account (``None``: the platform account itself)."""
        return self.filter(stripe_account=account)


class StripeManager(models.Manager.from_queryset(StripeQuerySet)):  # type: ignore[misc]
    @property
    def stripe(self) -> ServiceProxy:
        """The methods of the type's stripe-python service through the mirrored client
        (``Invoice.objects.stripe.create_preview(...)``); see ``stripe_django.mirror``."""
        from ..mirror.rows import for_model

        return for_model(self.model)

    def stripe_create(self, *, options: RequestOptions | None = None,
                      **params: Any) -> StripeModel | StripeObject:
        """Create the object in Stripe and return its stored row (the SDK's object when
        the mirror did not store it, with ``MIRROR_FAILURES = "log"``)."""
        return self.stripe.create(options=options, **params)

    async def astripe_create(self, *, options: RequestOptions | None = None,
                             **params: Any) -> StripeModel | StripeObject:
        """``stripe_create`` for async code (the SDK's ``create_async``)."""
        return await self.stripe.create_async(options=options, **params)


class ExistingManager(StripeManager):
    """``Model.existing_objects``: only rows of objects not deleted in Stripe."""

    def get_queryset(self) -> StripeQuerySet:
        return super().get_queryset().existing()


class StripeModel(models.Model):
    """A row per Stripe object, keyed by the Stripe id.

    Besides Stripe's own fields (declared by the generated subclasses), every row has:

    * ``stripe_data``: the object exactly as last received (minus the secrets listed in
      ``type_table.REDACTED_FIELDS``), so nothing Stripe sent is lost;
    * ``stripe_account``: the connected account the object belongs to, null for the
      platform account;
    * ``stripe_snapshot_at``: when the stored state was true at Stripe (an event's
      ``created``, or the time of an API fetch). An older snapshot never overwrites a
      newer one;
    * ``stripe_data_hash``: a digest of ``stripe_data``, to tell an unchanged object
      from an updated one without loading the stored JSON;
    * ``deleted``: the object was deleted in Stripe. The row stays.

    Managers: ``objects`` (the default, also behind related managers such as
    ``customer.invoices``) has every row, deleted ones included, because the mirror
    keeps what Stripe had and a deleted customer's invoices still point at it;
    ``existing_objects`` has only rows not deleted in Stripe, as ``objects.existing()``
    does (docs/guide/models.rst).
    """

    id = StripeIdField(primary_key=True, max_length=255)
    stripe_account = StripeIdField(max_length=255, null=True, blank=True, db_index=True)
    stripe_data = models.JSONField(default=dict)
    stripe_snapshot_at = models.DateTimeField()
    stripe_data_hash = models.CharField(max_length=32, default="")
    deleted = models.BooleanField(default=False)

    objects = StripeManager()
    existing_objects = ExistingManager()

    # The Stripe object name this model mirrors ("invoice", "checkout.session").
    stripe_object: ClassVar[str] = ""

    class Meta:
        abstract = True

    # True on the unsaved instances a preview returns (stripe_django.mirror.previews),
    # which set it on the instance.
    stripe_preview: bool = False

    def __str__(self) -> str:
        return display.describe(self)

    def save(self, *args, **kwargs) -> None:
        if self.stripe_preview:
            from ..exceptions import StripeDjangoError

            raise StripeDjangoError(
                f"{self.stripe_object} {self.pk or '(no id)'} is a preview of what an "
                "operation would do, not an object at Stripe: it is not stored")
        super().save(*args, **kwargs)

    @property
    def stripe(self) -> ServiceProxy:
        """The stripe-python methods of this object, bound to its id and account, through
        the mirrored client: ``invoice.stripe.finalize_invoice(auto_advance=False)``
        returns the updated row. See ``stripe_django.mirror``."""
        from ..mirror.rows import for_row

        return for_row(self)

    def refresh_from_stripe(self) -> Self:
        """Fetch this object from the API, store it and reload this instance."""
        from ..mirror.rows import refresh_from_stripe

        return refresh_from_stripe(self)

    async def arefresh_from_stripe(self) -> Self:
        """``refresh_from_stripe`` for async code, run in a thread as Django's
        ``arefresh_from_db`` runs its query."""
        from asgiref.sync import sync_to_async

        from ..mirror.rows import refresh_from_stripe

        return await sync_to_async(refresh_from_stripe)(self)
