"""Confidence intervals and significance tests for experiment results, with SciPy.

Each feedback is one observation. A success metric is compared with the two-proportion
z-test (pooled variance), a score with Welch's t-test (unequal variances), every arm
against the control, at 5% split evenly between the comparisons (Bonferroni), so three
arms do not get two chances at a false positive. Intervals are 95%: Wilson's score
interval for a rate (it stays inside 0..1 and behaves near 0 and 1), Student's t for a
mean. Everything works from counts, sums and sums of squares, so the store aggregates
and no outcome is loaded into memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

ALPHA = 0.05
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Sample:
    """What the store sums per arm: outcomes, their sum and the sum of their squares."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        if self.n < 2:
            return None
        mean = self.total / self.n
        return max(0.0, (self.squares - self.n * mean * mean) / (self.n - 1))

    @property
    def std(self) -> float | None:
        variance = self.variance
        return None if variance is None else math.sqrt(variance)


@dataclass(frozen=True)
class Comparison:
    statistic: float
    p_value: float


def proportion_interval(successes: int, n: int) -> tuple[float, float] | None:
    """Wilson's 95% score interval of a success rate."""
    if n == 0:
        return None
    interval = stats.binomtest(successes, n).proportion_ci(
        confidence_level=CONFIDENCE, method="wilson"
    )
    return float(interval.low), float(interval.high)


def mean_interval(sample: Sample) -> tuple[float, float] | None:
    """Student's t 95% interval of a mean score."""
    mean, std = sample.mean, sample.std
    if mean is None or std is None:
        return None
    if std == 0:
        return mean, mean
    low, high = stats.t.interval(
        CONFIDENCE, sample.n - 1, loc=mean, scale=std / math.sqrt(sample.n)
    )
    return float(low), float(high)


def two_proportion_z(
    successes: int, n: int, control_successes: int, control_n: int
) -> Comparison | None:
    """Two-sided two-proportion z-test with the pooled rate; z > 0 when this arm is higher."""
    if n == 0 or control_n == 0:
        return None
    pooled = (successes + control_successes) / (n + control_n)
    variance = pooled * (1 - pooled) * (1 / n + 1 / control_n)
    difference = successes / n - control_successes / control_n
    if variance == 0:
        # Every outcome in both arms is the same: no evidence of any difference.
        return Comparison(0.0, 1.0)
    z = difference / math.sqrt(variance)
    return Comparison(z, float(2 * stats.norm.sf(abs(z))))


def welch_t(sample: Sample, control: Sample) -> Comparison | None:
    """Two-sided Welch's t-test; t > 0 when this arm's mean is higher."""
    if sample.std is None or control.std is None:
        return None
    assert sample.mean is not None and control.mean is not None
    if sample.std == 0 and control.std == 0:
        return Comparison(0.0, 1.0) if sample.mean == control.mean else Comparison(math.inf, 0.0)
    result = stats.ttest_ind_from_stats(
        sample.mean,
        sample.std,
        sample.n,
        control.mean,
        control.std,
        control.n,
        equal_var=False,
    )
    return Comparison(float(result.statistic), float(result.pvalue))


def corrected_alpha(arms: int) -> float:
    """The level of each comparison with the control: 5% over ``arms - 1`` comparisons."""
    return ALPHA / max(1, arms - 1)
