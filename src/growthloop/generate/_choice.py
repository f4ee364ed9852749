"""Vectorised categorical draws: categories by customer affinity, products by popularity."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from growthloop.generate._catalogue import Catalogue

__all__ = [
    "SENSITIVITY_GRID",
    "ProductChooser",
    "choose_rows",
    "product_shares",
    "sensitivity_level",
]

#: Price sensitivities are rounded to this grid when choosing products.
SENSITIVITY_GRID = np.linspace(-2.0, 4.0, 25)


def sensitivity_level(sensitivity: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """The index of each price sensitivity's nearest point on :data:`SENSITIVITY_GRID`."""
    step = SENSITIVITY_GRID[1] - SENSITIVITY_GRID[0]
    level: npt.NDArray[np.int64] = np.clip(
        np.round((sensitivity - SENSITIVITY_GRID[0]) / step), 0, len(SENSITIVITY_GRID) - 1
    ).astype(np.int64)
    return level


def choose_rows(
    rng: np.random.Generator, weights: npt.NDArray[np.float64], rows: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """For each entry of ``rows``, a column drawn with probability ``weights[row]``.

    ``weights`` is ``(n, k)`` with rows summing to 1.
    """
    n, k = weights.shape
    cumulative = np.cumsum(weights, axis=1)
    cumulative[:, -1] = 1.0
    # Row r occupies (r, r + 1]: one sorted array serves every row.
    stacked = (cumulative + np.arange(n)[:, None]).ravel()
    position = np.searchsorted(stacked, rows + rng.random(len(rows)), side="right")
    column: npt.NDArray[np.int64] = np.minimum(position - rows * k, k - 1).astype(np.int64)
    return column


class ProductChooser:
    """Draws a product within a category: popularity times price to the minus sensitivity."""

    def __init__(self, catalogue: Catalogue) -> None:
        categories = int(catalogue.category.max()) + 1
        self.categories = categories
        tables: list[npt.NDArray[np.float64]] = []
        members: list[npt.NDArray[np.int64]] = []
        for table, sensitivity in enumerate(np.repeat(SENSITIVITY_GRID, categories)):
            category = table % categories
            inside = np.flatnonzero(catalogue.category == category)
            weight = catalogue.popularity[inside] * catalogue.price_gbp[inside] ** -sensitivity
            cumulative = np.cumsum(weight) / weight.sum()
            cumulative[-1] = 1.0
            tables.append(table + cumulative)
            members.append(inside.astype(np.int64))
        self.stacked = np.concatenate(tables)
        self.products = np.concatenate(members)

    def choose(
        self,
        rng: np.random.Generator,
        category: npt.NDArray[np.int64],
        sensitivity: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.int64]:
        """A product index for each (category, price sensitivity) pair."""
        table = sensitivity_level(sensitivity) * self.categories + category
        position = np.searchsorted(self.stacked, table + rng.random(len(table)), side="right")
        product: npt.NDArray[np.int64] = self.products[np.minimum(position, len(self.products) - 1)]
        return product


def product_shares(catalogue: Catalogue) -> npt.NDArray[np.float64]:
    """``(len(SENSITIVITY_GRID), products)``: the probability that :class:`ProductChooser`
    draws each product once its category is chosen, at each grid sensitivity."""
    shares = np.empty((len(SENSITIVITY_GRID), len(catalogue.category)))
    for level, sensitivity in enumerate(SENSITIVITY_GRID):
        weight = catalogue.popularity * catalogue.price_gbp**-sensitivity
        total = np.bincount(catalogue.category, weights=weight)
        shares[level] = weight / total[catalogue.category]
    return shares
