"""Revenue analytics from the mirror: MRR and its movements, churn, ARR, ARPU.

The definitions are in docs/guide/revenue-metrics.rst; each module follows one part:
``normalize`` (a price per month), ``discounts``, ``counting`` (which subscriptions
count), ``mrr``, ``movements``, ``history`` (from invoices), ``metrics``.
Amounts are integers in the smallest currency unit, keyed by currency.
"""

from .counting import subscriptions_active_at
from .history import Agreement, agreement, mrr_from_invoices
from .metrics import arpu, arr, customer_churn_rate, revenue_churn_rate, subscribers
from .movements import KINDS, Movement, PeriodMovements, customer_mrr, movements, movements_between
from .mrr import MRRResult, mrr, mrr_by, mrr_detail
from .normalize import UnsupportedPrice

__all__ = [
    "KINDS", "Agreement", "MRRResult", "Movement", "PeriodMovements", "UnsupportedPrice", "agreement", "arpu",
    "arr", "customer_churn_rate", "customer_mrr", "movements", "movements_between", "mrr", "mrr_by",
    "mrr_detail", "mrr_from_invoices", "revenue_churn_rate", "subscribers", "subscriptions_active_at",
]
