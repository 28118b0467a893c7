"""The confidence bound of ``stripe_verify --sample``.

``n`` mirror rows drawn at random, ``d`` of them differing from Stripe: the share ``p``
of differing rows in the whole mirror is below :func:`upper_bound` with the stated
confidence. The bound is the exact one-sided binomial (Clopper-Pearson) upper limit: the
``p`` at which seeing ``d`` or fewer differing rows in ``n`` has probability
``1 - confidence``. For ``d = 0`` it is ``1 - (1 - confidence) ** (1 / n)``, about
``3 / n`` at 95% (the "rule of three"): 0 of 500 differing gives below 0.6%.

Rows are drawn without replacement from a finite table, for which the binomial bound is
conservative (a little too high), never too low.
"""

from __future__ import annotations

import math

__all__ = ["CONFIDENCE", "upper_bound", "describe_bound"]

CONFIDENCE = 0.95


def _log_cdf_terms(d: int, n: int, p: float) -> float:
    """P(X <= d) for X ~ Binomial(n, p), summed in log space (n may be thousands)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if d >= n else 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for k in range(d + 1):
        log_term = (math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                    + k * log_p + (n - k) * log_q)
        total += math.exp(log_term)
    return min(total, 1.0)


def upper_bound(d: int, n: int, confidence: float = CONFIDENCE) -> float:
    """The share of differing rows is below this with ``confidence``, having seen ``d``
    differing among ``n`` drawn at random (1.0 when ``n`` is 0: nothing is known)."""
    if n < 0 or d < 0 or d > n:
        raise ValueError(f"need 0 <= differing <= sampled, got {d} of {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if n == 0 or d == n:
        return 1.0
    alpha = 1.0 - confidence
    if d == 0:
        return 1.0 - alpha ** (1.0 / n)
    lo, hi = d / n, 1.0  # P(X <= d) decreases as p grows: bisect for alpha
    for _ in range(100):
        mid = (lo + hi) / 2
        if _log_cdf_terms(d, n, mid) > alpha:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9:
            break
    return hi


def describe_bound(d: int, n: int, confidence: float = CONFIDENCE) -> str:
    """"0 of 500 differ: below 0.6% at 95%"."""
    bound = upper_bound(d, n, confidence)
    percent = f"{bound * 100:.2g}" if bound < 0.1 else f"{bound * 100:.1f}"
    return f"{d} of {n} differ: below {percent}% at {confidence * 100:g}%"
