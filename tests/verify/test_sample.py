"""The confidence bound of ``--sample`` against known values of the exact binomial
(Clopper-Pearson) one-sided upper limit."""

from __future__ import annotations

import pytest

from stripe_django.verify.sample import describe_bound, upper_bound


@pytest.mark.parametrize("differing, sampled, expected", [
    (0, 500, 0.005974),  # 1 - 0.05 ** (1 / 500): the "rule of three", 3 / 500 = 0.006
    (0, 100, 0.029513),
    (1, 500, 0.009452),
    (5, 100, 0.102253),  # P(X <= 5 | n=100, p) = 0.05
    (10, 10, 1.0),
    (0, 0, 1.0),
])
def test_the_bound_is_the_exact_binomial_upper_limit_at_95_percent(differing, sampled, expected):
    assert upper_bound(differing, sampled) == pytest.approx(expected, abs=2e-6)


def test_the_bound_reads_as_a_sentence_and_bad_counts_are_refused():
    assert describe_bound(0, 500) == "0 of 500 differ: below 0.6% at 95%"
    with pytest.raises(ValueError, match="0 <= differing <= sampled, got 3 of 2"):
        upper_bound(3, 2)
