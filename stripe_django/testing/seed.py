"""Fill a Stripe account with a small, realistic billing account.

Works against localstripe (see ``stripe_django.testing.localstripe``) and
against a real Stripe *test-mode* account.  Everything goes through the
regular stripe-python client, so what ends up in the account is exactly what
the sync code will later read back.

Anything the server cannot do is skipped and recorded, never raised::

    result = seed_account(client, customers=40)
    result["created"]   # {"customer": 40, "product": 3, "plan": 6, ...}
    result["skipped"]   # ["price: InvalidRequestError: ... (x1)", ...]

The tests (the ``seeded`` fixture) and the demo (``python -m demo``) seed with it.
Command line::

    python -m stripe_django.testing.seed                      # start localstripe, seed, exit
    python -m stripe_django.testing.seed --serve              # ... and keep it running
    python -m stripe_django.testing.seed --api-key sk_test_…  # seed a real test-mode account
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Literal, cast

import stripe

if TYPE_CHECKING:
    # The SDK's parameter types: the seeder's requests are checked against them.
    from stripe.params import (
        ChargeCreateParams,
        CouponCreateParams,
        CustomerCreateParams,
        InvoiceItemCreateParams,
        PaymentIntentCreateParams,
        RefundCreateParams,
        SubscriptionCreateParams,
        SubscriptionCreateParamsItem,
        TaxRateCreateParams,
    )

CURRENCY = "usd"

FIRST_NAMES = [
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis",
    "Frances", "Edsger", "Radia", "Guido", "Hedy", "Tim", "Katherine",
    "Donald", "Annie", "John", "Sophie", "Niklaus",
]
LAST_NAMES = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson",
    "Liskov", "Ritchie", "Allen", "Dijkstra", "Perlman", "Rossum", "Lamarr",
    "Berners-Lee", "Johnson", "Knuth", "Easley", "McCarthy", "Wilson", "Wirth",
]
# (city, country, postal_code)
CITIES = [
    ("Paris", "FR", "75002"), ("Berlin", "DE", "10115"),
    ("Austin", "US", "73301"), ("London", "GB", "EC1A 1BB"),
    ("Madrid", "ES", "28001"), ("Toronto", "CA", "M5H 2N2"),
]
# (product name, monthly amount, yearly amount) in cents
CATALOG = [("Starter", 900, 9000), ("Pro", 2900, 29000),
           ("Enterprise", 9900, 99000)]
INVOICE_ITEM_LABELS = [
    "Onboarding session", "Consulting hour", "Data migration",
    "Extra storage (100 GB)", "Priority support", "Custom report",
]


class _Seeder:
    """Holds the client, the RNG and the bookkeeping of one seeding run."""

    def __init__(self, client: stripe.StripeClient, rng: random.Random):
        self.c = client.v1
        self.rng = rng
        self.ids: dict[str, list[str]] = defaultdict(list)
        self.notes: list[str] = []
        # label -> [count, first error]; rendered into result["skipped"]
        self._skips: dict[str, list] = {}
        # capabilities found missing; not attempted again
        self._unsupported: set[str] = set()

    # -- bookkeeping -------------------------------------------------------

    def record(self, kind: str, obj: Any) -> Any:
        self.ids[kind].append(obj.id)
        return obj

    def skip(self, label: str, error: BaseException | str) -> None:
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}".replace("\n", " ")
        entry = self._skips.setdefault(label, [0, error[:200]])
        entry[0] += 1

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def attempt(self, label: str, fn: Callable[[], Any], *,
                kind: str | None = None, capability: bool = False) -> Any:
        """Run ``fn()``; on any error record a skip and return None.

        ``capability=True`` marks ``label`` as a feature probe: after its
        first failure it is not attempted again.
        """
        if label in self._unsupported:
            return None
        try:
            obj = fn()
        except Exception as e:  # noqa: BLE001 - seeding must never crash
            self.skip(label, e)
            if capability:
                self._unsupported.add(label)
            return None
        if kind is not None:
            self.record(kind, obj)
        return obj

    def result(self) -> dict:
        created = {kind: len(set(ids)) for kind, ids in self.ids.items()}
        skipped = [
            f"{label}: {err}" + (f" (x{n})" if n > 1 else "")
            for label, (n, err) in self._skips.items()
        ]
        return {"created": created, "skipped": skipped, "notes": self.notes,
                "ids": {k: list(v) for k, v in self.ids.items()}}

    # -- catalogue ---------------------------------------------------------

    def tax_rates(self) -> list[str]:
        specs: list[TaxRateCreateParams] = [
            {"display_name": "VAT", "percentage": 20, "inclusive": False,
             "jurisdiction": "FR", "description": "French VAT"},
            {"display_name": "GST", "percentage": 10, "inclusive": True,
             "jurisdiction": "AU", "description": "Australian GST"},
        ]
        return [tr.id for tr in (
            self.attempt("tax_rate", partial(self.c.tax_rates.create, params=p),
                         kind="tax_rate") for p in specs) if tr]

    def coupons(self, tag: str) -> list[str]:
        # localstripe requires an explicit id; real Stripe accepts one too.
        # The run tag keeps ids unique when seeding the same account twice.
        specs: list[CouponCreateParams] = [
            {"id": f"seed-welcome10-{tag}", "name": "Welcome 10%",
             "percent_off": 10, "duration": "once"},
            {"id": f"seed-loyal5usd-{tag}", "name": "Loyalty $5",
             "amount_off": 500, "currency": CURRENCY, "duration": "forever"},
            {"id": f"seed-launch25-{tag}", "name": "Launch 25% x3",
             "percent_off": 25, "duration": "repeating",
             "duration_in_months": 3},
        ]
        out = []
        for p in specs:
            # localstripe rejects `name` ("Unexpected name"): probe it once,
            # then create coupons without it.
            cp = self.attempt("coupon name", partial(self.c.coupons.create, params=p),
                              kind="coupon", capability=True)
            if cp is None:
                q = p.copy()
                q.pop("name", None)
                cp = self.attempt("coupon", partial(self.c.coupons.create, params=q),
                                  kind="coupon")
            if cp is not None:
                out.append(cp.id)
        return out

    def catalog(self) -> list[str]:
        """Products, a monthly + yearly plan each, and prices if supported."""
        plans = []
        for name, monthly, yearly in CATALOG:
            prod = self.attempt("product", partial(self.c.products.create, params={
                "name": name, "description": f"The {name} plan",
                "metadata": {"tier": name.lower()}}), kind="product")
            if prod is None:
                continue
            intervals: tuple[tuple[Literal["month", "year"], int], ...] = (
                ("month", monthly), ("year", yearly))
            for interval, amount in intervals:
                plan = self.attempt("plan", partial(self.c.plans.create, params={
                    "product": prod.id, "amount": amount, "currency": CURRENCY,
                    "interval": interval, "nickname": f"{name} {interval}ly"}),
                    kind="plan")
                if plan is not None:
                    plans.append(plan.id)
                # Prices (the modern replacement of plans), if the server has
                # them; localstripe 1.15 does not (/v1/prices is a 404).
                self.attempt("price", partial(self.c.prices.create, params={
                    "product": prod.id, "unit_amount": amount,
                    "currency": CURRENCY, "recurring": {"interval": interval},
                    "nickname": f"{name} {interval}ly (price)"}),
                    kind="price", capability=True)
            # One one-time price per product.
            self.attempt("price", lambda: self.c.prices.create(
                params={"product": prod.id, "unit_amount": monthly * 3,
                        "currency": CURRENCY, "nickname": f"{name} setup fee"}),
                kind="price", capability=True)
        return plans

    # -- customers ---------------------------------------------------------

    def customer(self, i: int, *, failing_card: bool) -> tuple[str, str | None] | None:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        city, country, postal = self.rng.choice(CITIES)
        params: CustomerCreateParams = {
            "name": f"{first} {last}",
            "email": f"{first}.{last}.{i}@example.com".lower().replace("-", ""),
            "phone": f"+1555{self.rng.randrange(10**6, 10**7)}",
            "description": f"Seeded customer #{i}",
            "address": {"line1": f"{self.rng.randint(1, 200)} Main Street",
                        "city": city, "country": country,
                        "postal_code": postal},
            "preferred_locales": [self.rng.choice(["en", "fr", "de", "es"])],
            "metadata": {"seed": "demo", "index": str(i),
                         "segment": self.rng.choice(["smb", "mid", "ent"])},
        }
        cus = self.attempt("customer", lambda: self.c.customers.create(params=params),
                           kind="customer")
        if cus is None:
            return None

        # A card as a PaymentMethod, made the default for invoices.  The
        # `pm_card_*` test ids work on real Stripe and on localstripe (which
        # materialises a fresh pm_... object on attach).
        test_pm = "pm_card_chargeCustomerFail" if failing_card else "pm_card_visa"
        pm = self.attempt("payment_method", lambda: self.c.payment_methods.attach(
            test_pm, params={"customer": cus.id}), kind="payment_method")
        if pm is not None:
            self.attempt("customer default payment method", lambda: self.c.customers.update(
                cus.id, params={"invoice_settings": {"default_payment_method": pm.id}}))
        return cus.id, (pm.id if pm is not None else None)

    def legacy_card_source(self, customer: str) -> None:
        """Attach an old-style card source (Sources/Cards API)."""
        src = self.attempt("card source via tok_visa",
                           lambda: self.c.customers.payment_sources.create(
                               customer, params={"source": "tok_visa"}),
                           kind="card_source", capability=True)
        if src is not None:
            return
        # localstripe has no magic `tok_visa`; it does accept raw test card
        # numbers (real Stripe normally refuses them, hence the skip above).
        self.note("tok_visa unknown: card sources attached via a token "
                  "created from a raw test card number")
        tok = self.attempt("card token from raw card number", lambda: self.c.tokens.create(
            params={"card": {"number": "4242424242424242", "exp_month": "12",
                             "exp_year": "2030", "cvc": "123"}}),
            capability=True)
        if tok is not None:
            self.attempt("card source", lambda: self.c.customers.payment_sources.create(
                customer, params={"source": tok.id}), kind="card_source")

    def tax_id(self, customer: str, i: int) -> None:
        self.attempt("tax_id", lambda: self.c.customers.tax_ids.create(
            customer, params={"type": "eu_vat", "value": f"DE{100000000 + i:09d}"}),
            kind="tax_id")

    # -- subscriptions -----------------------------------------------------

    def subscription(self, customer: str, plan: str, *, trial: bool,
                     tax_rates: list[str], coupon: str | None,
                     quantity: int):
        item: SubscriptionCreateParamsItem = {"plan": plan, "quantity": quantity}
        params: SubscriptionCreateParams = {"customer": customer, "items": [item],
                                            "metadata": {"seed": "demo"}}
        if trial:
            params["trial_period_days"] = 14
        if tax_rates:
            params["default_tax_rates"] = tax_rates
        if coupon and "subscription discount" not in self._unsupported:
            with_discount: SubscriptionCreateParams = {**params, "discounts": [{"coupon": coupon}]}
            sub = self.attempt("subscription discount", lambda: self.c.subscriptions.create(
                params=with_discount), capability=True)
            if sub is not None:
                return self.record("subscription", sub)
        sub = self.attempt("subscription", lambda: self.c.subscriptions.create(
            params=params))
        if sub is None:
            # Newer Stripe API versions may want `price` instead of `plan`
            # (a plan id is also a valid price id).
            alt: SubscriptionCreateParams = {**params, "items": [{"price": plan, "quantity": quantity}]}
            sub = self.attempt("subscription (items[].price)",
                               lambda: self.c.subscriptions.create(params=alt))
        return self.record("subscription", sub) if sub is not None else None

    # -- invoices, payments --------------------------------------------------

    def invoice_items(self, customer: str, count: int,
                      tax_rates: list[str]) -> int:
        made = 0
        for n in range(count):
            params: InvoiceItemCreateParams = {
                "customer": customer, "currency": CURRENCY,
                "amount": self.rng.randrange(1000, 50000, 500),
                "description": f"{self.rng.choice(INVOICE_ITEM_LABELS)} #{n + 1}",
                "metadata": {"seed": "demo"},
            }
            if tax_rates and n % 3 == 0:
                params["tax_rates"] = tax_rates[:1]
            if self.attempt("invoice item", partial(self.c.invoice_items.create, params=params),
                            kind="invoiceitem") is not None:
                made += 1
        return made

    def invoice(self, customer: str, *, pay: bool, description: str):
        # `pending_invoice_items_behavior=include` is needed on real Stripe
        # (the default there is to leave pending items out); localstripe
        # accepts it and always includes them.  localstripe can only invoice
        # a customer with a live subscription ("No upcoming invoices for
        # customer" otherwise) and then also adds that subscription's line.
        inv = self.attempt("invoice", lambda: self.c.invoices.create(params={
            "customer": customer, "description": description,
            "pending_invoice_items_behavior": "include",
            "metadata": {"seed": "demo"}}), kind="invoice")
        if inv is not None and pay:
            paid = self.attempt("invoice pay", lambda: self.c.invoices.pay(inv.id))
            return paid or inv
        return inv

    def one_off_charge(self, customer: str, pm: str | None, *,
                       expect_failure: bool = False) -> str | None:
        amount = self.rng.randrange(500, 20000, 100)
        params: ChargeCreateParams = {"amount": amount, "currency": CURRENCY, "customer": customer,
                                      "description": "One-off purchase", "metadata": {"seed": "demo"}}
        if pm:
            params["source"] = pm
        if "charge via Charges API" in self._unsupported:
            return self.payment_intent(customer, pm, amount)
        try:
            ch = self.c.charges.create(params=params)
        except stripe.CardError as e:
            if expect_failure:
                # The declined charge still exists server-side (status=failed).
                charge_id = getattr(e.error, "charge", None) if e.error else None
                if charge_id:
                    self.ids["charge"].append(charge_id)
                    self.ids["charge_failed"].append(charge_id)
                return None
            self.skip("charge", e)
            return None
        except Exception as e:  # noqa: BLE001
            # e.g. a server refusing pm_... as `source`: fall back to a
            # PaymentIntent, which creates a charge as well.
            self.skip("charge via Charges API", e)
            self._unsupported.add("charge via Charges API")
            return self.payment_intent(customer, pm, amount)
        return self.record("charge", ch).id

    def payment_intent(self, customer: str, pm: str | None,
                       amount: int) -> str | None:
        if pm is None:
            return None
        # (localstripe rejects `description` on PaymentIntents.)
        params: dict[str, Any] = {
            "amount": amount, "currency": CURRENCY, "customer": customer,
            "payment_method": pm, "payment_method_types": ["card"],
            "confirm": True, "off_session": True, "metadata": {"seed": "demo"}}
        # The SDK sends the dict as it is; its types (stripe 16) name only the newer
        # `allowed_payment_method_types`, which localstripe does not know.
        pi = self.attempt("payment_intent", lambda: self.c.payment_intents.create(
            params=cast("PaymentIntentCreateParams", params)), kind="payment_intent")
        if pi is None:
            return None
        charge = pi.latest_charge
        charge_id = charge if isinstance(charge, str) else getattr(charge, "id", None)
        if charge_id:
            self.ids["charge"].append(charge_id)
        return charge_id

    def refund(self, charge: str, amount: int | None) -> None:
        params: RefundCreateParams = {"charge": charge, "metadata": {"seed": "demo"}}
        if amount:
            params["amount"] = amount
        self.attempt("refund", lambda: self.c.refunds.create(params=params),
                     kind="refund")


def seed_account(client: stripe.StripeClient, *, customers: int = 40,
                 rng_seed: int = 7) -> dict:
    """Seed ``client``'s account; return what was created and what was not.

    Returns ``{"created": {type: count}, "skipped": [reason, ...],
    "notes": [...], "ids": {type: [id, ...]}, "subscription_status": {...}}``.

    ``created`` counts objects this function created, keyed by Stripe
    ``object`` name (``customer``, ``product``, ``plan``, ``price``,
    ``coupon``, ``tax_rate``, ``payment_method``, ``card_source``,
    ``tax_id``, ``subscription``, ``invoice``, ``invoiceitem``, ``charge``,
    ``payment_intent``, ``refund``) plus the derived ``subscription_canceled``,
    ``charge_failed`` and ``invoiceitem_pending``.  ``invoice`` includes the
    first invoice of every subscription that has one (``latest_invoice``);
    ``charge`` counts one-off charges only (invoice payments create more).

    Shape of the account (deterministic for a given ``rng_seed`` and server):

    * 2 tax rates, 3 coupons, 3 products x (monthly + yearly plan)
      (+ prices where supported);
    * ``customers`` customers with address/metadata and a default card
      PaymentMethod; every 6th also has a legacy card source, every 7th an
      EU VAT id; with 8+ customers the last one has a card that is declined
      when charged;
    * customers 0 and 1 and ~75% of the others subscribe (random plan and
      seat count; except for 0 and 1: ~20% with a 14-day trial, ~20% with a
      coupon), ~30% with a default tax rate; ~15% of the subscriptions are
      then canceled and one is set to cancel at period end;
    * customer 0 also gets a paid manual invoice with 12 invoice-item lines
      (more than one page of lines; localstripe adds the subscription's
      line too), customer 1 a draft one with 3 invoice items;
    * ~1/3 of customers get a one-off charge, half of which are refunded
      (partially or fully); two customers keep a pending invoice item.
    """
    rng = random.Random(rng_seed)
    s = _Seeder(client, rng)
    tag = format(int(time.time() * 1000) % 36**6, "x")

    tax_rates = s.tax_rates()
    coupons = s.coupons(tag)
    plans = s.catalog()

    # Customers.  Index 0 and 1 get extra manual invoices (see below).
    people: list[tuple[int, str, str | None]] = []  # (index, customer, pm)
    failing_index = customers - 1 if customers >= 8 else None
    for i in range(customers):
        made = s.customer(i, failing_card=(i == failing_index))
        if made is None:
            continue
        cus_id, pm_id = made
        people.append((i, cus_id, pm_id))
        if i % 6 == 5:
            s.legacy_card_source(cus_id)
        if i % 7 == 3:
            s.tax_id(cus_id, i)

    # Subscriptions.
    subs = []
    status: Counter[str] = Counter()
    for i, cus_id, _pm in people:
        if not plans:
            break
        # 0 and 1 always subscribe, plainly: localstripe can only create a
        # manual invoice for a customer with a live subscription.
        plain = i < 2
        if not plain and i != failing_index and rng.random() > 0.75:
            continue
        trial = not plain and i != failing_index and rng.random() < 0.2
        sub = s.subscription(
            cus_id, rng.choice(plans), trial=trial,
            tax_rates=tax_rates[:1] if tax_rates and rng.random() < 0.3 else [],
            coupon=(rng.choice(coupons) if coupons and not plain
                    and rng.random() < 0.2 else None),
            quantity=rng.choice([1, 1, 1, 2, 5]))
        if sub is None:
            continue
        if sub.latest_invoice:
            inv = sub.latest_invoice
            s.ids["invoice"].append(inv if isinstance(inv, str) else inv.id)
        if trial and sub.status != "trialing":
            s.note(f"trial subscriptions come back with status "
                   f"{sub.status!r}, not 'trialing'")
        subs.append(sub)

    # Cancel some (not trials/incomplete ones, to keep a mix of statuses;
    # not those of customers 0 and 1, which are invoiced below).
    keep = {cus for i, cus, _pm in people if i < 2}
    cancellable = [sub for sub in subs
                   if sub.status == "active" and sub.customer not in keep]
    rng.shuffle(cancellable)
    n_cancel = max(1, round(len(subs) * 0.15)) if cancellable else 0
    for sub in cancellable[:n_cancel]:
        if s.attempt("subscription cancel", partial(s.c.subscriptions.cancel, sub.id)):
            s.ids["subscription_canceled"].append(sub.id)
    for sub in cancellable[n_cancel:n_cancel + 1]:
        s.attempt("subscription cancel_at_period_end", partial(
            s.c.subscriptions.update, sub.id, params={"cancel_at_period_end": True}))

    # Final subscription statuses, as the server reports them.
    for sub in subs:
        got = s.attempt("subscription retrieve", partial(s.c.subscriptions.retrieve, sub.id))
        status[(got or sub).status] += 1

    # Manual invoices, made of invoice items (created after the
    # subscriptions, whose first invoice would otherwise sweep them up).
    by_index = {i: (cus, pm) for i, cus, pm in people}
    if 0 in by_index:
        if s.invoice_items(by_index[0][0], 12, tax_rates):
            s.invoice(by_index[0][0], pay=True,
                      description="Professional services (12 lines)")
    if 1 in by_index:
        if s.invoice_items(by_index[1][0], 3, tax_rates):
            s.invoice(by_index[1][0], pay=False, description="Draft invoice")

    # Pending invoice items, left for the customer's next invoice.
    for i, cus_id, _pm in [p for p in people if p[0] >= 2][:2]:
        before = len(s.ids["invoiceitem"])
        s.invoice_items(cus_id, 1, [])
        s.ids["invoiceitem_pending"].extend(s.ids["invoiceitem"][before:])

    # One-off charges and refunds.
    charged = []
    for i, cus_id, pm_id in people:
        if i == failing_index:
            s.one_off_charge(cus_id, pm_id, expect_failure=True)
        elif i % 3 == 2:
            ch = s.one_off_charge(cus_id, pm_id)
            if ch:
                charged.append(ch)
    for n, ch in enumerate(charged):
        if n % 2 == 0:
            s.refund(ch, None if n % 4 == 0 else 300)

    # A couple of customer updates (customer.updated events).
    for i, cus_id, _pm in people[:3]:
        s.attempt("customer update", partial(
            s.c.customers.update, cus_id, params={"metadata": {"vip": "true"}}))

    result = s.result()
    result["subscription_status"] = dict(status)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7, help="RNG seed")
    parser.add_argument("--api-key", default=os.environ.get("STRIPE_API_KEY"),
                        help="test-mode secret key (default: $STRIPE_API_KEY); "
                             "without it a local localstripe is started")
    parser.add_argument("--api-base", help="e.g. http://127.0.0.1:8420")
    parser.add_argument("--serve", action="store_true",
                        help="keep the started localstripe running (Ctrl-C)")
    args = parser.parse_args(argv)

    if args.api_key and "_live_" in args.api_key:
        parser.error("refusing to seed a live-mode account")

    def run(client: stripe.StripeClient) -> None:
        result = seed_account(client, customers=args.customers,
                              rng_seed=args.seed)
        result.pop("ids")
        print(json.dumps(result, indent=2))

    if args.api_key or args.api_base:
        run(stripe.StripeClient(args.api_key or "sk_test_demo",
                                base_addresses={"api": args.api_base} if args.api_base else None,
                                max_network_retries=0))
        return 0

    from .localstripe import LocalStripe

    with LocalStripe() as ls:
        run(ls.client())
        if args.serve:
            print(f"localstripe running at {ls.api_base} "
                  f"(api key {ls.api_key}); Ctrl-C to stop", file=sys.stderr)
            try:
                while ls.is_running():
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
