"""Agreement statistics for judges: Krippendorff's alpha (interval and nominal), Cohen's kappa.

Written here rather than imported: each is a few lines, and the harness's dependencies stay
small. Both are checked against published worked examples in tests/test_judge_reliability_stats.py
(Krippendorff 2011, "Computing Krippendorff's alpha-reliability", the 4-coder 12-unit table;
Cohen's kappa on the 2x2 table of the textbook example).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence


def krippendorff_alpha(units: Sequence[Sequence], metric: str = "interval") -> float | None:
    """Alpha for `units`, each the values its coders gave (None: missing).

    alpha = 1 - D_o / D_e: observed disagreement within units over the disagreement expected by
    chance over all pairable values. Units with fewer than two values are not pairable. None when
    there is nothing to compare (no pairable unit) or no variation at all (D_e = 0)."""
    if metric not in ("interval", "nominal"):
        raise ValueError(f"unknown alpha metric {metric!r}")
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [u for u in pairable if len(u) >= 2]
    values = [v for u in pairable for v in u]
    n = len(values)
    if n < 2:
        return None
    if metric == "interval":
        # sum over ordered pairs (i != j) of (a - b)^2 = 2 m sum(a^2) - 2 (sum a)^2
        def pair_sum(vs: list) -> float:
            return 2 * len(vs) * sum(v * v for v in vs) - 2 * sum(vs) ** 2
    else:
        def pair_sum(vs: list) -> float:  # ordered pairs with different values
            counts = Counter(vs)
            return len(vs) ** 2 - sum(c * c for c in counts.values())
    observed = sum(pair_sum(u) / (len(u) - 1) for u in pairable) / n
    expected = pair_sum(values) / (n * (n - 1))
    if expected == 0:
        return None
    return 1 - observed / expected


def cohen_kappa(first: Sequence[Hashable | None], second: Sequence[Hashable | None]) -> float | None:
    """Cohen's kappa of two raters' labels over the items both labelled (None: missing).
    None when no item was labelled by both, or when chance agreement is 1 (one label only)."""
    pairs = [(a, b) for a, b in zip(first, second, strict=True) if a is not None and b is not None]
    if not pairs:
        return None
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    count_a, count_b = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(count_a[label] * count_b[label] for label in count_a) / (n * n)
    if chance == 1:
        return None
    return (observed - chance) / (1 - chance)


def identical_share(units: Sequence[Sequence]) -> float | None:
    """Share of units (with at least two values) whose values are all the same."""
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [u for u in pairable if len(u) >= 2]
    if not pairable:
        return None
    return sum(len(set(u)) == 1 for u in pairable) / len(pairable)


def rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)
