"""The one number formatter of every report and table afdsl prints.

Reports show rates as percentages and gaps (and their differences) as signed
percentage points, so a reader never confuses a 5% rate with a 5-point gap;
`afdsl analyze` and `afdsl power` print the same units (JSON keeps proportions).
`decimal` and `decimal_ci` write a proportion with three decimals. An undefined
number (NaN, or no interval) reads `n/a`.
"""

from __future__ import annotations

import math


def is_undefined(x: float | None) -> bool:
    """None or NaN: a number with nothing to show."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def pct(x: float | None, digits: int = 1) -> str:
    """A rate as a percentage: 0.123 -> '12.3%'."""
    return "n/a" if is_undefined(x) else f"{100 * x:.{digits}f}%"  # type: ignore[operator]


def pp(x: float | None, digits: int = 1) -> str:
    """A difference of rates in percentage points, always signed: 0.11 -> '+11.0'."""
    if is_undefined(x):
        return "n/a"
    text = f"{100 * x:+.{digits}f}"  # type: ignore[operator]
    # A value that rounds to zero has no sign worth showing ("-0" reads as a typo).
    return text[1:] if text.strip("+-0.") == "" else text


def ci(bounds: tuple[float, float] | None, *, points: bool = True, digits: int = 1) -> str:
    """An interval in percent (`points=False`) or signed percentage points."""
    if bounds is None or is_undefined(bounds[0]) or is_undefined(bounds[1]):
        return "[n/a]"
    f = pp if points else pct
    return f"[{f(bounds[0], digits)}, {f(bounds[1], digits)}]"


def pval(p: float | None, alpha: float | None = None) -> str:
    """p-values with two significant digits, floored at <0.001 (more digits would be noise).

    With `alpha`, the text falls on the same side of α as `p`: an adjusted p of 0.0495
    reads '0.0495', not '0.050' beside a PASS (or a filled mark) that says it is below α.
    """
    if is_undefined(p):
        return "n/a"
    assert p is not None
    if p < 0.001:
        return "<0.001"
    digits = 3 if round(p, 3) < 0.1 else 2  # 0.09996 reads '0.10', not '0.100'
    return beside_alpha(p, alpha, digits)


def beside_alpha(p: float, alpha: float | None, digits: int) -> str:
    """`p` with `digits` decimals, or more (up to 6) until the text is on p's side of α."""
    text = f"{p:.{digits}f}"
    while alpha is not None and (float(text) < alpha) != (p < alpha) and digits < 6:
        digits += 1
        text = f"{p:.{digits}f}"
    return text


def decimal(x: float) -> str:
    """Three decimals, and no sign on a value that rounds to zero ('-0.000' reads as a typo)."""
    text = f"{x:.3f}"
    return "0.000" if text == "-0.000" else text


def decimal_ci(bounds: tuple[float, float]) -> str:
    """`[0.010, 0.250]`; `n/a` without an interval (fewer than 2 queries).

    Not `[n/a]` as in the reports: these cells are rich markup, which would read
    the brackets as a tag and print nothing.
    """
    if math.isnan(bounds[0]) or math.isnan(bounds[1]):
        return "n/a"
    return f"[{decimal(bounds[0])}, {decimal(bounds[1])}]"


def p_short(p: float, alpha: float | None = None) -> str:
    """Three decimals, small ones in scientific notation; with `alpha`, enough decimals to
    fall on p's side of it (an adjusted 0.0495 beside a PASS must not read 0.050)."""
    return f"{p:.2g}" if p < 0.001 else beside_alpha(p, alpha, 3)
