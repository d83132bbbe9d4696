"""How far two raters agree on the same items: pure functions over plain sequences, any operation's.

Tested without the database against values worked out by hand. Every measure is None when it has
nothing to measure (no items, or a correlation that is undefined), never a made-up 0 or 1.
"""

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any


def _check_pairs(a: Sequence[Any], b: Sequence[Any]) -> int:
    if len(a) != len(b):
        raise ValueError(f"paired sequences differ in length ({len(a)} and {len(b)})")
    return len(a)


def agreement(a: Sequence[object], b: Sequence[object]) -> float | None:
    """Share of positions where ``a[i] == b[i]`` (audit-scan: the same tier), from 0.0 to 1.0.

    None for empty inputs (there is nothing to agree on). ValueError when the lengths differ.
    """
    n = _check_pairs(a, b)
    if n == 0:
        return None
    return sum(x == y for x, y in zip(a, b, strict=True)) / n


def cohens_kappa(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = ()) -> float | None:
    """Cohen's kappa of two raters' labels for the same items: ``(p_o - p_e) / (1 - p_e)``.

    ``p_o`` is the observed share of agreement; ``p_e`` the agreement expected by chance from each
    rater's own label frequencies, summed over the categories. The categories are ``labels`` plus any
    other value that occurs (a label never used by either rater adds nothing to ``p_e``, so ``labels``
    only has to be a superset). The sums are kept in whole numbers, ``(n*agree - S) / (n*n - S)`` with
    ``S = sum(count_a[c] * count_b[c])``, so that the edge cases below are exact.

    Conventions:

    - None for empty inputs.
    - When ``p_e == 1`` kappa is 0/0. That happens only when both raters put every item in one and the
      same category; they then agree on everything, and this returns 1.0 (and 0.0 if ``p_o`` were ever
      below 1, which ``p_e == 1`` rules out).
    - Complete disagreement gives a negative kappa (agreement below chance), down to -1.

    ValueError when the lengths differ.
    """
    n = _check_pairs(a, b)
    if n == 0:
        return None
    categories = list(dict.fromkeys([*labels, *a, *b]))
    count_a, count_b = Counter(a), Counter(b)
    agree = sum(x == y for x, y in zip(a, b, strict=True))
    chance = sum(count_a[c] * count_b[c] for c in categories)  # p_e * n * n
    if chance == n * n:
        return 1.0 if agree == n else 0.0
    return (n * agree - chance) / (n * n - chance)


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of ``values``; tied values all get the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        rank = (start + end) / 2 + 1  # mean of the 1-based positions start+1 .. end+1
        for k in range(start, end + 1):
            ranks[order[k]] = rank
        start = end + 1
    return ranks


def _pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    mean_x, mean_y = sum(x) / n, sum(y) / n
    dx = [v - mean_x for v in x]
    dy = [v - mean_y for v in y]
    sxx = sum(d * d for d in dx)
    syy = sum(d * d for d in dy)
    if sxx == 0 or syy == 0:
        return None
    r = sum(p * q for p, q in zip(dx, dy, strict=True)) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))  # rounding must not leave the range a correlation lives in


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation: the Pearson correlation of the two sides' average ranks.

    Ties get the mean of the ranks they span (so the plain ``1 - 6*sum(d^2)/(n(n^2-1))`` formula, which
    assumes no ties, is not used).

    Conventions: None when ``n < 2``, and None when either side is constant (all values equal): its
    ranks have no variance and the correlation is undefined (0/0), not 0. ValueError when the lengths
    differ.
    """
    n = _check_pairs(x, y)
    if n < 2:
        return None
    return _pearson(average_ranks(x), average_ranks(y))


def mean_abs_diff(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Mean of ``|a[i] - b[i]|``; 0.0 for identical inputs, None for empty ones. ValueError when the
    lengths differ."""
    n = _check_pairs(a, b)
    if n == 0:
        return None
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / n


def mismatch_share(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Share of positions where the values differ (``1 - agreement``); None for empty inputs."""
    share = agreement(a, b)
    return None if share is None else 1 - share


def confusion_matrix(a: Sequence[str], b: Sequence[str], labels: Sequence[str] = ()) -> dict[str, Any]:
    """``{label_a: {label_b: count}}`` over every label (``labels`` then any other seen), zeros included."""
    _check_pairs(a, b)
    categories = list(dict.fromkeys([*labels, *a, *b]))
    matrix = {row: dict.fromkeys(categories, 0) for row in categories}
    for x, y in zip(a, b, strict=True):
        matrix[x][y] += 1
    return matrix
