"""Small numeric routines shared by the biomarker statistics (no SciPy dependency): the regularised
incomplete gamma function, from which the exact Poisson interval (TMB) and the chi-squared survival
function (MSI) follow."""

from __future__ import annotations

import math

_TINY = 1e-300


def _gamma_pq(a: float, x: float) -> tuple[float, float]:
    """(P(a, x), Q(a, x)): series for x < a + 1, Lentz's continued fraction for Q otherwise."""
    if x <= 0:
        return 0.0, 1.0
    front = math.exp(-x + a * math.log(x) - math.lgamma(a))
    if x < a + 1:
        ap, total, term = a, 1.0 / a, 1.0 / a
        for _ in range(10000):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        p = min(1.0, total * front)
        return p, max(0.0, 1.0 - p)
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    q = min(1.0, front * h)
    return max(0.0, 1.0 - q), q


def gammainc_lower(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x)."""
    return _gamma_pq(a, x)[0]


def gammainc_upper(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x)."""
    return _gamma_pq(a, x)[1]
