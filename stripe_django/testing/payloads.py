"""Payload factories in the shapes of several Stripe API versions.

Each function builds a fresh dict, so a test can change it without touching others.
The shapes follow Stripe's API changelog (https://docs.stripe.com/upgrades). The tests of
ingest and the ingest benchmark build their objects with these.
"""

from __future__ import annotations

from typing import Any

T0 = 1_500_000_000  # 2017-07-14


def customer_2017(cid: str = "cus_2017", **extra: Any) -> dict[str, Any]:
    return {
        "id": cid, "object": "customer", "account_balance": -500, "created": T0,
        "currency": "usd", "default_source": "card_2017", "delinquent": False,
        "description": "old shape", "discount": None, "email": "old@example.com",
        "livemode": False, "metadata": {"plan": "gold"},
        "shipping": None,
        "sources": {
            "object": "list", "has_more": False, "total_count": 1, "url": f"/v1/customers/{cid}/sources",
            "data": [{
                "id": "card_2017", "object": "card", "brand": "Visa", "customer": cid,
                "exp_month": 8, "exp_year": 2030, "last4": "0042", "funding": "credit",
                "country": "US", "cvc_check": "pass", "metadata": {},
            }],
        },
        "subscriptions": {"object": "list", "data": [], "has_more": False, "total_count": 0,
                          "url": f"/v1/customers/{cid}/subscriptions"},
        **extra,
    }


def customer_current(cid: str = "cus_now", **extra: Any) -> dict[str, Any]:
    return {
        "id": cid, "object": "customer", "address": None, "balance": 250, "created": T0 + 10**8,
        "currency": "eur", "default_source": None, "delinquent": False, "description": None,
        "discount": None, "email": "now@example.com",
        "invoice_prefix": "ABC123", "invoice_settings": {"custom_fields": None, "default_payment_method": None,
                                                         "footer": None, "rendering_options": None},
        "livemode": False, "metadata": {}, "name": "Current Shape", "next_invoice_sequence": 3,
        "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
        "test_clock": None, **extra,
    }


def plan_2017(pid: str = "gold", **extra: Any) -> dict[str, Any]:
    return {"id": pid, "object": "plan", "amount": 2000, "created": T0, "currency": "usd",
            "interval": "month", "interval_count": 1, "livemode": False, "metadata": {},
            "name": "Gold", "statement_descriptor": "GOLD PLAN", "trial_period_days": None, **extra}


def subscription_2017(sid: str = "sub_2017", customer: str = "cus_2017", **extra: Any) -> dict[str, Any]:
    return {
        "id": sid, "object": "subscription", "application_fee_percent": None,
        "cancel_at_period_end": False, "canceled_at": None, "created": T0,
        "current_period_end": T0 + 2_592_000, "current_period_start": T0, "customer": customer,
        "discount": None, "ended_at": None, "livemode": False, "metadata": {},
        "plan": plan_2017(), "quantity": 2, "start": T0, "status": "active", "tax_percent": 20.0,
        "trial_end": None, "trial_start": None,
        "items": {"object": "list", "has_more": False, "total_count": 1, "url": "/v1/subscription_items?subscription=" + sid,
                  "data": [{"id": "si_2017", "object": "subscription_item", "created": T0,
                            "metadata": {}, "plan": plan_2017(), "quantity": 2, "subscription": sid}]},
        **extra,
    }


def subscription_current(sid: str = "sub_now", customer: str = "cus_now", **extra: Any) -> dict[str, Any]:
    return {
        "id": sid, "object": "subscription", "automatic_tax": {"enabled": False, "liability": None},
        "billing_cycle_anchor": T0 + 10**8, "cancel_at": None, "cancel_at_period_end": False,
        "canceled_at": None, "collection_method": "charge_automatically", "created": T0 + 10**8,
        "currency": "eur", "customer": customer, "default_payment_method": None, "discounts": [],
        "ended_at": None, "latest_invoice": "in_now", "livemode": False, "metadata": {},
        "start_date": T0 + 10**8, "status": "active", "trial_end": None, "trial_start": None,
        "items": {"object": "list", "has_more": False, "total_count": 1, "url": "/v1/subscription_items",
                  "data": [{"id": "si_now", "object": "subscription_item", "created": T0 + 10**8,
                            "current_period_start": T0 + 10**8, "current_period_end": T0 + 10**8 + 2_592_000,
                            "discounts": [], "metadata": {}, "quantity": 3, "subscription": sid,
                            "plan": {"id": "price_now", "object": "plan", "amount": 900, "currency": "eur",
                                     "interval": "month", "interval_count": 1, "livemode": False,
                                     "created": T0, "active": True, "metadata": {}},
                            "price": {"id": "price_now", "object": "price", "active": True, "currency": "eur",
                                      "unit_amount": 900, "unit_amount_decimal": "900", "created": T0,
                                      "livemode": False, "metadata": {}, "type": "recurring",
                                      "product": "prod_now"},
                            "tax_rates": []}]},
        **extra,
    }


def invoice_2017(iid: str = "in_2017", customer: str = "cus_2017", n_lines: int = 2,
                 **extra: Any) -> dict[str, Any]:
    lines = [{
        "id": "sub_2017", "object": "line_item", "amount": 2000, "currency": "usd",
        "discountable": True, "livemode": False, "metadata": {}, "period": {"start": T0, "end": T0 + 2_592_000},
        "plan": plan_2017(), "proration": False, "quantity": 1, "subscription": "sub_2017",
        "subscription_item": "si_2017", "type": "subscription",
    }] + [{
        "id": f"ii_2017_{n}", "object": "line_item", "amount": 100 + n, "currency": "usd",
        "description": f"extra {n}", "discountable": True, "invoice_item": f"ii_2017_{n}",
        "livemode": False, "metadata": {}, "period": {"start": T0, "end": T0}, "plan": None,
        "proration": False, "quantity": 1, "subscription": None, "type": "invoiceitem",
    } for n in range(n_lines - 1)]
    return {
        "id": iid, "object": "invoice", "amount_due": 2400, "application_fee": None,
        "attempt_count": 1, "attempted": True, "charge": "ch_2017", "closed": True,
        "currency": "usd", "customer": customer, "date": T0, "description": None,
        "discount": {"object": "discount", "coupon": {"id": "10OFF", "object": "coupon", "percent_off": 10,
                                                       "duration": "once", "created": T0, "livemode": False,
                                                       "metadata": {}, "times_redeemed": 1, "valid": True},
                     "customer": customer, "end": None, "start": T0, "subscription": None},
        "ending_balance": 0, "forgiven": False, "livemode": False, "metadata": {},
        "next_payment_attempt": None, "paid": True, "period_end": T0, "period_start": T0 - 2_592_000,
        "receipt_number": None, "starting_balance": 0, "statement_descriptor": None,
        "subscription": "sub_2017", "subscription_proration_date": None, "subtotal": 2000, "tax": 400,
        "tax_percent": 20.0, "total": 2400, "webhooks_delivered_at": T0 + 5,
        "lines": {"object": "list", "data": lines, "has_more": False, "total_count": len(lines),
                  "url": f"/v1/invoices/{iid}/lines"},
        **extra,
    }


def invoice_2019(iid: str = "in_2019", customer: str = "cus_2017", **extra: Any) -> dict[str, Any]:
    """2019-03-14: status and status_transitions; line items keyed by unique_id."""
    inv = invoice_2017(iid, customer)
    for n, line in enumerate(inv["lines"]["data"]):
        line["unique_id"] = f"il_2019_{n}"
    del inv["closed"], inv["forgiven"]
    inv.update({"status": "paid", "status_transitions": {"paid_at": T0 + 60}, "amount_paid": 2400,
                "amount_remaining": 0, "payment_intent": "pi_2019", "collection_method": "charge_automatically",
                "auto_advance": False, "number": "ABC-0001", "hosted_invoice_url": "https://example.com/i"})
    inv.update(extra)
    return inv


def invoice_2022(iid: str = "in_2022", customer: str = "cus_now", **extra: Any) -> dict[str, Any]:
    """2022-08-01: ``il_`` line ids, discounts list, total_tax_amounts, no tax_percent."""
    return {
        "id": iid, "object": "invoice", "account_country": "DE", "account_name": "Shop",
        "amount_due": 1190, "amount_paid": 1190, "amount_remaining": 0, "attempt_count": 1,
        "attempted": True, "auto_advance": False, "billing_reason": "subscription_cycle",
        "charge": "ch_2022", "collection_method": "charge_automatically", "created": T0 + 2 * 10**8,
        "currency": "eur", "customer": customer, "discounts": [], "livemode": False, "metadata": {},
        "paid": True, "paid_out_of_band": False, "payment_intent": "pi_2022",
        "period_end": T0 + 2 * 10**8, "period_start": T0 + 2 * 10**8 - 2_592_000, "status": "paid",
        "subscription": "sub_now", "subtotal": 1000, "tax": 190, "total": 1190,
        "total_discount_amounts": [], "total_excluding_tax": 1000,
        "total_tax_amounts": [{"amount": 190, "inclusive": False, "tax_rate": "txr_1"}],
        "lines": {"object": "list", "has_more": False, "total_count": 1, "url": f"/v1/invoices/{iid}/lines",
                  "data": [{"id": "il_2022", "object": "line_item", "amount": 1000, "currency": "eur",
                            "livemode": False, "metadata": {}, "period": {"start": 1, "end": 2},
                            "quantity": 1, "subscription": "sub_now", "type": "subscription"}]},
        **extra,
    }


def invoice_current(iid: str = "in_now", customer: str = "cus_now", n_lines: int = 5,
                    created: int = T0 + 3 * 10**8, **extra: Any) -> dict[str, Any]:
    """2025+: parent.subscription_details, payments list, total_taxes; no paid/charge/tax."""
    lines = [{
        "id": f"il_{iid}_{n}", "object": "line_item", "amount": 1000 + n, "currency": "eur",
        "description": f"line {n}", "discount_amounts": [], "discountable": True, "discounts": [],
        "invoice": iid, "livemode": False, "metadata": {}, "period": {"start": created, "end": created},
        "parent": {"type": "subscription_item_details",
                   "subscription_item_details": {"subscription": "sub_now", "subscription_item": "si_now",
                                                 "proration": False}},
        "pricing": {"type": "price_details", "price_details": {"price": "price_now", "product": "prod_now"},
                    "unit_amount_decimal": "1000"},
        "quantity": 1, "taxes": [],
    } for n in range(n_lines)]
    return {
        "id": iid, "object": "invoice", "account_country": "DE", "account_name": "Shop",
        "amount_due": 5010, "amount_overpaid": 0, "amount_paid": 5010, "amount_remaining": 0,
        "amount_shipping": 0, "attempt_count": 1, "attempted": True, "auto_advance": False,
        "automatic_tax": {"enabled": False}, "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically", "created": created, "currency": "eur",
        "customer": customer, "default_tax_rates": [], "discounts": [], "issuer": {"type": "self"},
        "livemode": False, "metadata": {"order": "42"}, "number": f"N-{iid}",
        "parent": {"type": "subscription_details", "quote_details": None,
                   "subscription_details": {"metadata": {}, "subscription": "sub_now"}},
        "payments": {"object": "list", "has_more": False, "url": "/v1/invoice_payments",
                     "data": [{"id": f"inpay_{iid}", "object": "invoice_payment", "amount_paid": 5010,
                               "amount_requested": 5010, "created": created, "currency": "eur",
                               "invoice": iid, "is_default": True, "livemode": False,
                               "payment": {"type": "payment_intent", "payment_intent": f"pi_{iid}"},
                               "status": "paid", "status_transitions": {"paid_at": created}}]},
        "payment_settings": {}, "period_end": created, "period_start": created - 2_592_000,
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "starting_balance": 0, "status": "paid",
        "status_transitions": {"paid_at": created, "finalized_at": created},
        "subtotal": 5010, "total": 5010, "total_taxes": [{"amount": 0, "tax_behavior": "exclusive"}],
        "lines": {"object": "list", "has_more": False, "total_count": n_lines,
                  "url": f"/v1/invoices/{iid}/lines", "data": lines},
        **extra,
    }


def charge_2017(cid: str = "ch_2017", **extra: Any) -> dict[str, Any]:
    return {
        "id": cid, "object": "charge", "amount": 2400, "amount_refunded": 400, "balance_transaction": "txn_1",
        "captured": True, "created": T0, "currency": "usd", "customer": "cus_2017",
        "description": None, "destination": None, "dispute": None, "failure_code": None,
        "failure_message": None, "fraud_details": {}, "invoice": "in_2017", "livemode": False,
        "metadata": {}, "paid": True, "receipt_email": None, "receipt_number": None, "refunded": False,
        "refunds": {"object": "list", "has_more": False, "total_count": 1, "url": f"/v1/charges/{cid}/refunds",
                    "data": [{"id": "re_2017", "object": "refund", "amount": 400, "charge": cid,
                              "created": T0 + 100, "currency": "usd", "metadata": {}, "reason": None,
                              "status": "succeeded", "balance_transaction": "txn_2"}]},
        "shipping": None,
        "source": {"id": "card_2017", "object": "card", "brand": "Visa", "last4": "0042",
                   "exp_month": 8, "exp_year": 2030, "customer": "cus_2017", "metadata": {}},
        "status": "succeeded", "transfer": None,
        **extra,
    }
