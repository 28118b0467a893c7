"""Prove the mirror: compare it with Stripe, heal the drift (``manage.py stripe_verify``).

See docs/guide/verify.rst.
"""

from .compare import EXTRA, MISSING, STALE, Difference
from .report import VerifyReport, VerifyTypeReport, format_verify_summary
from .run import verify
from .sample import describe_bound, upper_bound

__all__ = ["verify", "VerifyReport", "VerifyTypeReport", "Difference", "MISSING", "EXTRA", "STALE",
           "format_verify_summary", "upper_bound", "describe_bound"]
