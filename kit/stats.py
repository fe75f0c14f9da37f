"""Paired comparisons over random seeds: the mean difference, its standard error, an interval, and the words.

A method and its baseline run with the same random seeds (same initialisation, same batches); what varies between
seeds is shared by both, so the comparison is made on the per-seed **differences**, method − baseline. Their
mean ± standard error (SD / √n, ddof = 1) says how precisely the difference is known; a Student-t interval
says which differences are compatible with the runs; an exact sign-flip permutation p-value (every ± pattern
of the differences is equally likely when the method changes nothing) says the same without assuming normal
errors, and shows how few seeds are too few: with n seeds the smallest two-sided p it can give is 2 / 2ⁿ
(0.25 for 3 seeds, 0.0625 for 5, 0.031 for 6).

The verdict is chosen from the interval: **consistent across n seeds** when the 95 % interval excludes 0
(the sign says which side wins), **not shown with n seeds** otherwise, and no verdict from one seed, nor from
two seeds whose differences are equal (a count metric often moves by the same step twice: no spread is seen).

    >>> print(paired([90.1, 90.6, 90.4], [89.7, 90.0, 89.9]).words("distilled vs labels only", unit="points"))
    distilled vs labels only: +0.50 ± 0.06 points (mean ± standard error, 3 seeds; 95% interval +0.25 to
    +0.75): higher, consistent across 3 seeds
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from kit.errors import KitError

CONFIDENCE = 0.95


class StatsError(KitError, ValueError):
    """A comparison that cannot be made (no runs, unpaired runs, a confidence outside (0, 1))."""


def t_quantile(probability: float, degrees: int) -> float:
    """The Student-t quantile (scipy's), e.g. t_quantile(0.975, 2) = 4.303."""
    from scipy.stats import t

    return float(t.ppf(probability, degrees))


def sign_flip_p(differences: Sequence[float]) -> float:
    """Exact two-sided p-value of the sign-flip permutation test of mean(differences) = 0.

    Under "no effect" each paired difference is as likely to be + as −: the p-value is the share of the
    2ⁿ sign patterns whose |mean| is at least the observed one. Exact (enumerated) up to 20 seeds.
    """
    values = [float(d) for d in differences]
    if not values:
        raise StatsError("no differences to test")
    if len(values) > 20:
        raise StatsError(f"sign_flip_p enumerates 2^n patterns: {len(values)} differences is too many")
    observed = abs(sum(values))
    tolerance = 1e-12 * max(1.0, sum(abs(v) for v in values))
    hits = sum(1 for signs in itertools.product((1, -1), repeat=len(values))
               if abs(sum(s * v for s, v in zip(signs, values, strict=True))) >= observed - tolerance)
    return hits / 2 ** len(values)


@dataclass(frozen=True)
class Paired:
    """A paired comparison over n seeds: differences = method − baseline, one per seed."""

    differences: tuple[float, ...]
    confidence: float = CONFIDENCE

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return sum(self.differences) / self.n

    @property
    def sd(self) -> float:
        """Standard deviation of the per-seed differences (ddof = 1); nan with one random seed."""
        if self.n < 2:
            return math.nan
        m = self.mean
        return math.sqrt(sum((d - m) ** 2 for d in self.differences) / (self.n - 1))

    @property
    def se(self) -> float:
        """Standard error of the mean difference, SD / √n; nan with one seed."""
        return self.sd / math.sqrt(self.n) if self.n >= 2 else math.nan

    @property
    def interval(self) -> tuple[float, float]:
        """The two-sided Student-t interval of the mean difference at `confidence`; (nan, nan) with one seed."""
        if self.n < 2:
            return math.nan, math.nan
        half = t_quantile(0.5 + self.confidence / 2, self.n - 1) * self.se
        return self.mean - half, self.mean + half

    @property
    def p_value(self) -> float:
        """The exact two-sided sign-flip permutation p-value."""
        return sign_flip_p(self.differences)

    @property
    def degenerate(self) -> bool:
        """Two seeds with the very same difference: no spread to estimate, so the interval is a point."""
        return self.n == 2 and self.sd == 0

    @property
    def shown(self) -> bool:
        """True when the interval excludes 0 (never with one seed, nor with two that differ by exactly as much)."""
        low, high = self.interval
        return self.n >= 2 and not self.degenerate and (low > 0 or high < 0)

    @property
    def direction(self) -> int:
        """+1 (method higher), −1 (method lower) when shown, else 0."""
        return (1 if self.mean > 0 else -1) if self.shown else 0

    def verdict(self) -> str:
        """'consistent across n seeds' | 'not shown with n seeds' | 'one seed: no verdict'."""
        if self.n < 2:
            return "one seed: no verdict"
        if self.degenerate:
            return "the same difference at both seeds: too few to estimate the spread, no verdict"
        return f"consistent across {self.n} seeds" if self.shown else f"not shown with {self.n} seeds"

    def describe(self, unit: str = "", digits: int = 2) -> str:
        """'+0.43 ± 0.12 points (mean ± standard error, 5 seeds; 95% interval +0.10 to +0.76)'."""
        unit = f" {unit}" if unit else ""
        if self.n < 2:
            return f"{signed(self.mean, digits)}{unit} (one seed)"
        low, high = self.interval
        return (f"{signed(self.mean, digits)} ± {self.se:.{digits}f}{unit} (mean ± standard error, {self.n} seeds; "
                f"{self.confidence:.0%} interval {signed(low, digits, keep_sign=True)} to "
                f"{signed(high, digits, keep_sign=True)})")

    def words(self, what: str, unit: str = "", digits: int = 2, higher: str = "higher", lower: str = "lower") -> str:
        """One sentence: what, the numbers, and the verdict with its direction ('higher' / 'lower' by default)."""
        if self.n < 2:   # the description already says "one seed"
            return f"{what}: {self.describe(unit, digits)}: no verdict"
        verdict = self.verdict()
        if self.direction:
            verdict = f"{higher if self.direction > 0 else lower}, {verdict}"
        return f"{what}: {self.describe(unit, digits)}: {verdict}"


def signed(value: float, digits: int = 2, *, keep_sign: bool = False) -> str:
    """'+0.43', '-1.20', and '0.00' without a sign for a value that rounds to zero (never '-0.00'); with
    `keep_sign`, a nonzero value that rounds to zero gets up to three more digits instead ('-0.002') and keeps
    its sign even then, as an interval's bound must: its side of zero is the verdict."""
    text = f"{value:+.{digits}f}"
    if float(text) != 0:
        return text
    if keep_sign and value != 0:
        for extra in (1, 2, 3):
            text = f"{value:+.{digits + extra}f}"
            if float(text) != 0:
                return text
        return text   # '+0.00000' or '-0.00000': still the side of zero
    return text[1:]


def paired(method: Sequence[float], baseline: Sequence[float], *, confidence: float = CONFIDENCE) -> Paired:
    """The paired comparison of two runs per random seed (the same random seeds, in the same order)."""
    method, baseline = [float(v) for v in method], [float(v) for v in baseline]
    if not method:
        raise StatsError("a comparison needs at least one seed")
    if len(method) != len(baseline):
        raise StatsError(f"paired runs need one baseline per seed: {len(method)} method runs, "
                         f"{len(baseline)} baseline runs")
    return differences([m - b for m, b in zip(method, baseline, strict=True)], confidence=confidence)


def differences(values: Sequence[float], *, confidence: float = CONFIDENCE) -> Paired:
    """A paired comparison from the per-seed differences themselves."""
    if not 0 < confidence < 1:
        raise StatsError(f"confidence must be strictly between 0 and 1, got {confidence}")
    values = tuple(float(v) for v in values)
    if not values:
        raise StatsError("a comparison needs at least one seed")
    if not all(math.isfinite(v) for v in values):
        raise StatsError(f"every difference must be a finite number, got {values}")
    return Paired(values, confidence)


def mean_and_se(values: Sequence[float]) -> tuple[float, float]:
    """The mean of runs over seeds and its standard error (SD / √n, ddof = 1; nan with one run)."""
    values = [float(v) for v in values]
    if not values:
        raise StatsError("no runs")
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean, sd / math.sqrt(len(values))
