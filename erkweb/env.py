"""Typed readers for environment variables: a bad value is an ImproperlyConfigured error naming it."""

import json
import os
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name} must be a finite number, not {raw!r}")
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum:g}, not {value:g}")
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_json(name: str) -> dict[str, Any]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object")
    return value


# A budget is stored as a DecimalField(max_digits=12, decimal_places=6): under a million dollars, to
# the millionth of one.
MAX_MONEY = Decimal("999999.999999")
MONEY_PLACES = Decimal("0.000001")


def money(raw: str) -> Decimal:
    """An amount of US dollars (``$`` optional), more than 0 and less than a million, to the millionth;
    ValueError saying what is wrong with it otherwise."""
    try:
        value = Decimal(raw.strip().removeprefix("$"))
    except InvalidOperation:
        raise ValueError("must be an amount of US dollars (e.g. 2.50)") from None
    if not value.is_finite() or value <= 0:
        raise ValueError("must be more than 0 dollars")
    if value > MAX_MONEY:
        raise ValueError("must be less than 1,000,000 dollars")
    return value.quantize(MONEY_PLACES, rounding=ROUND_DOWN)


def env_money(name: str) -> Decimal | None:
    """An amount of US dollars (a budget), or None when unset (``money``'s rules)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return money(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} {exc}, not {raw!r}") from None
