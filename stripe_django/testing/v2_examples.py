"""Example payloads of the v2 object types the mirror stores, one factory per type.

Their shapes follow the response examples of Stripe's API reference for v2 objects
(https://docs.stripe.com/api/v2, each type's "object" and "retrieve" pages, named per
factory below) and the field annotations of stripe-python 16.1.0
(``stripe/v2/<namespace>/_<type>.py``); the ids and values are made up. Times are RFC 3339
with milliseconds, as Stripe writes them; amounts are ``{value, currency}`` with the
value an integer in the currency's minor unit (``stripe/v2/_amount.py``).

Each factory builds a fresh dict, so a test can change it without touching others.
"""

from __future__ import annotations

from typing import Any, Callable

LIVEMODE = False
ACCOUNT = "acct_1Nv0FGQ9RKHgCVdK"
FINANCIAL_ACCOUNT = "fa_test_61RS0q3bRjWdyzGoU16RS0q3bEpQAAUdvJbzVgCf2JDE"
PAYOUT_METHOD = "bankacct_test_61RRRxK6K9MkG9HtJ16RRRxJ8LSQ0E2PcTa1tH8Qu6fg"
TRANSACTION = "trxn_test_61RS0q3bRjWdyzGoU16RS0q3bEpQAAUdvJbzVgCf2QZk"


def _amount(value: int, currency: str = "usd") -> dict[str, Any]:
    return {"value": value, "currency": currency}


def account(aid: str = ACCOUNT, **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/core/accounts/object"""
    return {
        "id": aid, "object": "v2.core.account",
        "applied_configurations": ["customer", "merchant"],
        "closed": False,
        "configuration": {
            "customer": {"capabilities": {"automatic_indirect_tax": {"requested": True, "status": "active"}}},
            "merchant": {"capabilities": {"card_payments": {"requested": True, "status": "active",
                                                            "status_details": []}}},
            "recipient": None,
        },
        "contact_email": "furever@example.com", "contact_phone": None,
        "created": "2025-06-09T21:16:03.123Z", "dashboard": "full",
        "defaults": {"currency": "usd", "locales": ["en-US"],
                     "responsibilities": {"fees_collector": "stripe", "losses_collector": "stripe"}},
        "display_name": "Furever", "future_requirements": None,
        "identity": {"country": "us", "entity_type": "company",
                     "business_details": {"registered_name": "Furever"}},
        "livemode": LIVEMODE, "metadata": {"tier": "gold"},
        "requirements": {"entries": [], "summary": {"minimum_deadline": None}},
        **extra,
    }


def account_person(pid: str = "person_test_61RS0q3bRjWdyzGoU16RS0q3b", account_id: str = ACCOUNT,
                   **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/core/persons/object"""
    return {
        "id": pid, "object": "v2.core.account_person", "account": account_id,
        "additional_addresses": [], "additional_names": [],
        "additional_terms_of_service": None,
        "address": {"city": "Brothers", "country": "us", "line1": "27 Fredrick Ave",
                    "postal_code": "97712", "state": "OR"},
        "created": "2025-06-09T21:16:04.500Z",
        "date_of_birth": {"day": 1, "month": 1, "year": 1990},
        "documents": None, "email": "jenny.rosen@example.com", "given_name": "Jenny",
        "id_numbers": [{"type": "us_ssn_last_4"}], "legal_gender": "female",
        "livemode": LIVEMODE, "metadata": {}, "nationalities": ["us"],
        "phone": "+15555550100", "political_exposure": "none",
        "relationship": {"representative": True, "owner": True, "percent_ownership": "100"},
        "script_addresses": None, "script_names": None, "surname": "Rosen",
        "updated": "2025-06-09T21:17:30.042Z",
        **extra,
    }


def event_destination(eid: str = "ed_test_61RM8ltWcTW4mbsxf16RJyfa2xSQLHJJh1sxm7H0KVT6",
                      **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/core/event_destinations/object. The signing secret
    is returned once, at creation (stored nowhere by the mirror)."""
    return {
        "id": eid, "object": "v2.core.event_destination",
        "amazon_eventbridge": None, "azure_event_grid": None,
        "created": "2024-10-22T16:20:09.931Z", "description": "The mirror's endpoint",
        "enabled_events": ["v1.billing.meter.error_report_triggered"],
        "event_payload": "thin", "events_from": ["self"], "livemode": LIVEMODE,
        "metadata": {}, "name": "My Event Destination", "snapshot_api_version": None,
        "status": "enabled", "status_details": None, "type": "webhook_endpoint",
        "updated": "2024-10-22T16:20:09.937Z",
        "webhook_endpoint": {"signing_secret": "whsec_v2destinationSecretValue1234",
                             "url": "https://example.com/stripe/webhook/"},
        **extra,
    }


def gb_bank_account(bid: str = "gbba_test_61RS0q3bRjWdyzGoU16RS0q3bEp", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/core/vault/gb-bank-accounts/object"""
    return {
        "id": bid, "object": "v2.core.vault.gb_bank_account", "archived": False,
        "bank_account_type": "checking", "bank_name": "Stripe Test Bank",
        "created": "2025-07-01T09:00:00.250Z", "last4": "2345", "livemode": LIVEMODE,
        "restricted": False, "sort_code": "108800", "supported_currencies": ["gbp"],
        **extra,
    }


def us_bank_account(bid: str = "usba_test_61RS0q3bRjWdyzGoU16RS0q3bEp", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/core/vault/us-bank-accounts/object"""
    return {
        "id": bid, "object": "v2.core.vault.us_bank_account", "archived": False,
        "bank_account_type": "checking", "bank_name": "STRIPE TEST BANK",
        "created": "2025-07-01T09:00:01.999Z", "fedwire_routing_number": None,
        "financial_connections_account": None, "last4": "6789", "livemode": LIVEMODE,
        "restricted": False, "routing_number": "110000000", "supported_currencies": ["usd"],
        "verification": {"status": "verified", "microdeposit_verification_details": None},
        **extra,
    }


def product_catalog_import(iid: str = "pcimp_test_61RS0q3bRjWdyzGoU16RS0q3b", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/commerce/product-catalog/imports/object"""
    return {
        "id": iid, "object": "v2.commerce.product_catalog_import",
        "created": "2025-08-11T12:30:45.678Z", "feed_type": "pricing", "livemode": LIVEMODE,
        "metadata": {}, "mode": "upsert", "status": "succeeded",
        "status_details": {"succeeded": {"success_count": 12}},
        **extra,
    }


def adjustment(aid: str = "adj_test_61RS0q3bRjWdyzGoU16RS0q3bEpQ", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/adjustments/object"""
    return {
        "id": aid, "object": "v2.money_management.adjustment",
        "adjusted_flow": {"type": "received_credit", "received_credit": "rc_test_1"},
        "amount": _amount(-1250), "created": "2025-06-20T10:11:12.131Z",
        "description": "Returned credit", "financial_account": FINANCIAL_ACCOUNT,
        "livemode": LIVEMODE,
        **extra,
    }


def financial_account(fid: str = FINANCIAL_ACCOUNT, **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/financial-accounts/object"""
    return {
        "id": fid, "object": "v2.money_management.financial_account",
        "balance": {"available": {"usd": _amount(1_000_000)},
                    "inbound_pending": {"usd": _amount(0)},
                    "outbound_pending": {"usd": _amount(2500)}},
        "country": "us", "created": "2025-06-19T17:40:00.001Z", "display_name": "Operating",
        "livemode": LIVEMODE, "metadata": {}, "other": None, "status": "open",
        "storage": {"holds_currencies": ["usd"]}, "type": "storage",
        **extra,
    }


def financial_address(fid: str = "finaddr_test_61RS0q3bRjWdyzGoU16RS0q3b", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/financial-addresses/object"""
    return {
        "id": fid, "object": "v2.money_management.financial_address",
        "bank_account": {"type": "aba", "country": "us", "currency": "usd", "aba": {"account_number": "000123456789", "bank_name": "Stripe Test Bank",
                                 "routing_number": "110000000", "account_holder_name": "Furever"}},
        "created": "2025-06-19T17:41:00.500Z", "financial_account": FINANCIAL_ACCOUNT,
        "livemode": LIVEMODE, "settlement_currency": "usd", "status": "active",
        "type": "us_bank_account",
        **extra,
    }


def inbound_transfer(tid: str = "ibt_test_61RS0q3bRjWdyzGoU16RS0q3bEp", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/inbound-transfers/object"""
    return {
        "id": tid, "object": "v2.money_management.inbound_transfer",
        "amount": _amount(5000), "created": "2025-06-21T08:00:00.010Z",
        "description": "Top up", "livemode": LIVEMODE,
        "from": {"debited": _amount(5000), "payment_method": {"type": "us_bank_account"}},
        "to": {"credited": _amount(5000), "financial_account": FINANCIAL_ACCOUNT},
        "transfer_history": [{"type": "bank_debit_queued", "created": "2025-06-21T08:00:00.010Z",
                              "level": "canonical", "id": "ibte_1"}],
        **extra,
    }


def outbound_payment(oid: str = "obp_test_65SlAavriewxesYj6PN16SiAU68AE9NQclWBzpoRJEmCR6",
                     **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/outbound-payments/object"""
    return {
        "id": oid, "object": "v2.money_management.outbound_payment",
        "amount": _amount(1000, "gbp"), "cancelable": False,
        "created": "2025-06-19T17:52:34.829Z", "description": "Payout to a recipient",
        "expected_arrival_date": "2025-06-19T17:52:34.803Z",
        "from": {"debited": _amount(1000, "gbp"), "financial_account": FINANCIAL_ACCOUNT},
        "livemode": LIVEMODE, "metadata": {}, "payout_intent": None,
        "recipient_notification": {"setting": "configured"},
        "recipient_verification": None, "statement_descriptor": "Sandbox",
        "status": "posted", "status_details": None,
        "status_transitions": {"canceled_at": None, "failed_at": None,
                               "posted_at": "2025-06-19T17:52:34.852Z", "returned_at": None},
        "to": {"credited": _amount(780, "gbp"), "payout_method": PAYOUT_METHOD, "recipient": ACCOUNT},
        "tracking_details": None,
        **extra,
    }


def outbound_setup_intent(sid: str = "obsi_test_61RS0q3bRjWdyzGoU16RS0q3bEp", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/outbound-setup-intents/object"""
    return {
        "id": sid, "object": "v2.money_management.outbound_setup_intent",
        "created": "2025-06-18T11:22:33.444Z", "livemode": LIVEMODE,
        "next_action": None, "payout_method": PAYOUT_METHOD, "status": "succeeded",
        "usage_intent": "payment",
        **extra,
    }


def payout_intent(pid: str = "poi_test_61RS0q3bRjWdyzGoU16RS0q3bEp", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/payout-intents/object"""
    return {
        "id": pid, "object": "v2.money_management.payout_intent",
        "amount": _amount(20_000), "confirmation_method": "automatic",
        "created": "2025-06-22T14:00:00.321Z", "description": "Weekly payout",
        "estimated_fees": [], "from": {"financial_account": FINANCIAL_ACCOUNT},
        "fx_quote": None, "latest_payout": None, "livemode": LIVEMODE, "metadata": {},
        "next_action": None, "recipient_notification": {"setting": "none"},
        "recipient_verification": None, "schedule_options": None,
        "statement_descriptor": "FUREVER", "status": "processing",
        "status_transitions": {"processing_at": "2025-06-22T14:00:01.000Z"},
        "to": {"payout_method": PAYOUT_METHOD, "recipient": ACCOUNT},
        **extra,
    }


def payout_method(pid: str = PAYOUT_METHOD, **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/payout-methods/object"""
    return {
        "id": pid, "object": "v2.money_management.payout_method", "archived": False,
        "bank_account": {"archived": False, "bank_account_type": "checking",
                         "bank_name": "STRIPE TEST BANK", "country": "us", "last4": "6789",
                         "routing_number": "110000000", "supported_currencies": ["usd"]},
        "card": None, "created": "2025-06-18T11:22:30.000Z",
        "latest_outbound_setup_intent": "obsi_test_61RS0q3bRjWdyzGoU16RS0q3bEp",
        "livemode": LIVEMODE, "restricted": False, "type": "bank_account",
        "usage_status": {"payments": "eligible", "transfers": "eligible"},
        **extra,
    }


def received_credit(rid: str = "rc_test_61RS0q3bRjWdyzGoU16RS0q3bEpQA", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/received-credits/object"""
    return {
        "id": rid, "object": "v2.money_management.received_credit",
        "amount": _amount(7_500), "amount_received": _amount(7_500),
        "balance_transfer": None,
        "bank_transfer": {"financial_address": "finaddr_test_61RS0q3bRjWdyzGoU16RS0q3b",
                          "network": "ach", "payment_method_type": "us_bank_account",
                          "statement_descriptor": "INVOICE 42",
                          "us_bank_account": {"bank_name": "Other Bank", "last4": "1111",
                                              "network": "ach", "routing_number": "021000021"}},
        "created": "2025-06-23T16:45:12.987Z", "description": "Customer payment",
        "financial_account": FINANCIAL_ACCOUNT, "livemode": LIVEMODE, "status": "succeeded",
        "status_details": None,
        "status_transitions": {"failed_at": None, "returned_at": None,
                               "succeeded_at": "2025-06-23T16:45:13.001Z"},
        "type": "bank_transfer",
        **extra,
    }


def recipient_verification(vid: str = "recv_test_61RS0q3bRjWdyzGoU16RS0q3bEp", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/recipient-verifications/object"""
    return {
        "id": vid, "object": "v2.money_management.recipient_verification",
        "consumed_by": None, "created": "2025-06-19T17:50:00.100Z",
        "expires_at": "2025-06-19T18:05:00.100Z", "livemode": LIVEMODE,
        "match_result": "match", "match_result_details": {"matched_name": "Jenny Rosen"},
        "payout_method": PAYOUT_METHOD, "recipient": ACCOUNT, "status": "verified",
        "status_transitions": {"acknowledged_at": None, "consumed_at": None},
        "verification_type": "confirmation_of_payee",
        **extra,
    }


def transaction(tid: str = TRANSACTION, **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/transactions/object"""
    return {
        "id": tid, "object": "v2.money_management.transaction",
        "amount": _amount(-1000, "gbp"),
        "balance_impact": {"available": _amount(-1000, "gbp"), "inbound_pending": _amount(0, "gbp"),
                           "outbound_pending": _amount(0, "gbp")},
        "category": "outbound_payment", "counterparty": {"name": "Jenny Rosen"},
        "created": "2025-06-19T17:52:34.830Z", "description": None,
        "financial_account": FINANCIAL_ACCOUNT,
        "flow": {"type": "outbound_payment",
                 "outbound_payment": "obp_test_65SlAavriewxesYj6PN16SiAU68AE9NQclWBzpoRJEmCR6"},
        "livemode": LIVEMODE, "metadata": None, "regulatory_receipt": None, "status": "posted",
        "status_transitions": {"posted_at": "2025-06-19T17:52:34.852Z", "void_at": None},
        **extra,
    }


def transaction_entry(eid: str = "trxne_test_61RS0q3bRjWdyzGoU16RS0q3bEp", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/money-management/transaction-entries/object"""
    return {
        "id": eid, "object": "v2.money_management.transaction_entry",
        "balance_impact": {"available": _amount(-1000, "gbp"), "inbound_pending": _amount(0, "gbp"),
                           "outbound_pending": _amount(0, "gbp")},
        "created": "2025-06-19T17:52:34.831Z", "effective_at": "2025-06-19T17:52:34.852123Z",
        "livemode": LIVEMODE, "transaction": TRANSACTION,
        "transaction_details": {"category": "outbound_payment", "financial_account": FINANCIAL_ACCOUNT,
                                "flow": {"type": "outbound_payment"}},
        **extra,
    }


def event(eid: str = "evt_test_65R9Ijk8EIUxdHyT2Fr16R9IcGdIsPRBMDtIeUcM2pZFo", **extra: Any) -> dict[str, Any]:
    """https://docs.stripe.com/api/v2/core/events/object: stored in ``Event`` (the one
    inbox of v1 and v2 events)."""
    return {
        "id": eid, "object": "v2.core.event",
        "changes": None, "context": ACCOUNT, "created": "2025-06-09T21:17:30.042Z",
        "data": None, "livemode": LIVEMODE,
        "reason": {"type": "request", "request": {"id": "req_v2123", "idempotency_key": "k-1"}},
        "related_object": {"id": ACCOUNT, "type": "v2.core.account",
                           "url": f"/v2/core/accounts/{ACCOUNT}"},
        "type": "v2.core.account[requirements].updated",
        **extra,
    }


# Object type -> factory, for every v2 type with a model.
V2_EXAMPLES: dict[str, Callable[..., dict[str, Any]]] = {
    "v2.core.account": account,
    "v2.core.account_person": account_person,
    "v2.core.event_destination": event_destination,
    "v2.core.vault.gb_bank_account": gb_bank_account,
    "v2.core.vault.us_bank_account": us_bank_account,
    "v2.commerce.product_catalog_import": product_catalog_import,
    "v2.money_management.adjustment": adjustment,
    "v2.money_management.financial_account": financial_account,
    "v2.money_management.financial_address": financial_address,
    "v2.money_management.inbound_transfer": inbound_transfer,
    "v2.money_management.outbound_payment": outbound_payment,
    "v2.money_management.outbound_setup_intent": outbound_setup_intent,
    "v2.money_management.payout_intent": payout_intent,
    "v2.money_management.payout_method": payout_method,
    "v2.money_management.received_credit": received_credit,
    "v2.money_management.recipient_verification": recipient_verification,
    "v2.money_management.transaction": transaction,
    "v2.money_management.transaction_entry": transaction_entry,
}
