"""The world specification, its validation and the summary of a generated world."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

__all__ = ["MAX_CUSTOMERS", "MAX_PRODUCTS", "WorldSpec", "WorldSummary", "validate_spec"]

MAX_CUSTOMERS = 9_999_999  # customer ids are "C" + 7 digits
MAX_PRODUCTS = 99_999  # product ids are "P" + 5 digits
MAX_DAYS = 3660


@dataclass(frozen=True)
class WorldSpec:
    """What to generate.

    Parameters
    ----------
    customers
        Number of customers (1 to 9,999,999).
    products
        Number of products in the catalogue (10 to 99,999).
    start
        First day of the simulated window (UTC midnight).
    days
        Length of the window in days (30 to 3,660).
    seed
        Seed of every random draw; the same spec always gives the same files.
    dirty_fraction
        Share of rows made deliberately messy (0 to 0.5); 0 gives clean files.
    chunk_customers
        Customers simulated per chunk; bounds memory (part of the spec: it changes the draws).
    """

    customers: int = 2000
    products: int = 300
    start: date = date(2024, 1, 1)
    days: int = 365
    seed: int = 42
    dirty_fraction: float = 0.0
    chunk_customers: int = 20_000


@dataclass(frozen=True)
class WorldSummary:
    """What :func:`~growthloop.generate.generate_world` wrote.

    Parameters
    ----------
    directory
        The output directory.
    files
        Name (``"customers"``, ``"truth_affinity"``, ``"world"`` ...) to path.
    counts
        Name to number of rows written.
    dirt
        Kind of injected mess to number of rows affected (empty when the world is clean).
    elapsed_seconds
        Wall-clock time the generation took.
    spec
        The spec the world was generated from.
    """

    directory: Path
    files: dict[str, Path]
    counts: dict[str, int]
    dirt: dict[str, int] = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    spec: WorldSpec = field(default_factory=WorldSpec)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")


def validate_spec(spec: WorldSpec) -> None:
    """Raise ``ValueError`` naming the field, the rule and the value if ``spec`` is invalid."""
    _check_int("customers", spec.customers, 1, MAX_CUSTOMERS)
    _check_int("products", spec.products, 10, MAX_PRODUCTS)
    _check_int("days", spec.days, 30, MAX_DAYS)
    _check_int("seed", spec.seed, 0, 2**63 - 1)
    _check_int("chunk_customers", spec.chunk_customers, 1, 1_000_000)
    if not isinstance(spec.start, date) or isinstance(spec.start, datetime):
        raise ValueError(f"start must be a datetime.date (a day, no time), got {spec.start!r}")
    fraction = spec.dirty_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise ValueError(f"dirty_fraction must be a number, got {fraction!r}")
    if not 0.0 <= float(fraction) <= 0.5:
        raise ValueError(f"dirty_fraction must be between 0 and 0.5, got {fraction}")
