"""The statistics agree with SciPy's reference tests on raw data."""

from __future__ import annotations

import math
import random

import pytest
from scipy import stats as scipy_stats

from registry.experiments import stats


def sample_of(values: list[float]) -> stats.Sample:
    return stats.Sample(len(values), sum(values), sum(v * v for v in values))


@pytest.mark.parametrize(
    ("a", "n_a", "b", "n_b"), [(60, 100, 75, 100), (5, 40, 1, 50), (300, 1000, 330, 1000)]
)
def test_two_proportion_z_equals_the_chi_square_test(a: int, n_a: int, b: int, n_b: int) -> None:
    # Pearson's chi-square on the 2x2 table, without continuity correction, is the
    # pooled two-proportion z-test squared.
    table = [[b, n_b - b], [a, n_a - a]]
    chi2, p_value, _dof, _expected = scipy_stats.chi2_contingency(table, correction=False)
    result = stats.two_proportion_z(b, n_b, a, n_a)
    assert result is not None
    assert result.p_value == pytest.approx(p_value, rel=1e-9)
    assert result.statistic**2 == pytest.approx(chi2, rel=1e-9)
    assert (result.statistic > 0) == (b / n_b > a / n_a)


def test_identical_outcomes_are_no_evidence() -> None:
    result = stats.two_proportion_z(50, 50, 80, 80)
    assert result is not None and result.p_value == 1.0


def test_welch_from_sums_equals_welch_on_the_data() -> None:
    rng = random.Random(7)
    a = [rng.gauss(3.0, 1.0) for _ in range(120)]
    b = [rng.gauss(3.4, 1.5) for _ in range(90)]
    expected = scipy_stats.ttest_ind(b, a, equal_var=False)
    result = stats.welch_t(sample_of(b), sample_of(a))
    assert result is not None
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-6)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-6)


def test_mean_interval_equals_scipy_on_the_data() -> None:
    rng = random.Random(3)
    values = [rng.uniform(1, 5) for _ in range(50)]
    expected = scipy_stats.ttest_1samp(values, 0).confidence_interval(0.95)
    low, high = stats.mean_interval(sample_of(values)) or (math.nan, math.nan)
    assert (low, high) == pytest.approx((expected.low, expected.high), rel=1e-6)


def test_wilson_interval_stays_inside_zero_and_one() -> None:
    low, high = stats.proportion_interval(0, 20) or (math.nan, math.nan)
    assert low == 0 and 0 < high < 0.2
    low, high = stats.proportion_interval(20, 20) or (math.nan, math.nan)
    assert 0.8 < low < 1 and high == pytest.approx(1.0)
    assert stats.proportion_interval(0, 0) is None


def test_too_small_samples_give_no_test() -> None:
    assert stats.welch_t(sample_of([1.0]), sample_of([1.0, 2.0])) is None
    assert stats.two_proportion_z(0, 0, 1, 2) is None


def test_bonferroni_splits_alpha_over_the_comparisons() -> None:
    assert stats.corrected_alpha(2) == 0.05
    assert stats.corrected_alpha(3) == 0.025
