"""Exact figures and the one rounding rule (docs/uptime.md "Rounding").

Every uptime figure is a ratio of whole numbers (checks, microseconds, hundredths of a ms), so it
is computed as a Fraction and compared or rounded exactly; binary floating point never decides a
comparison or a tie. Rounding is half-up on the exact value, ties away from zero: 99.0625 →
99.063, 502.95 → 503.0, −12.25 → −12.3. Floats appear only at the very end, as the nearest double
to an already rounded decimal (which prints as that decimal).
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

Number = int | float | Decimal | Fraction

MICROSECOND = timedelta(microseconds=1)


def exact(value: Number) -> Fraction:
    """A number as an exact Fraction; a float is taken as the decimal it was written as
    (0.999 is 999/1000, 14.4 is 72/5), not as its binary approximation."""
    if isinstance(value, float):
        return Fraction(Decimal(repr(value)))
    return Fraction(value)


def rounded_decimal(value: Number, places: int) -> Decimal:
    """`value` rounded half-up (ties away from zero) to `places` decimals, exactly."""
    q = exact(value) * 10**places
    whole = math.floor(abs(q) + Fraction(1, 2))
    return Decimal(-whole if q < 0 else whole).scaleb(-places).quantize(Decimal(1).scaleb(-places),
                                                                         rounding=ROUND_HALF_UP)


def half_up(value: Number | None, places: int) -> float | None:
    """`value` rounded half-up to `places` decimals, as the float that prints as that decimal;
    None (or NaN) stays None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(rounded_decimal(value, places))


def fixed(value: Number | None, places: int, missing: str = "no data") -> str:
    """`value` rounded half-up and written with exactly `places` decimals (for screens and messages)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return f"{rounded_decimal(value, places):.{places}f}"


def minutes(delta: timedelta) -> Fraction:
    """A duration in minutes, exactly (timedelta counts whole microseconds)."""
    return Fraction(delta // MICROSECOND, 60_000_000)
