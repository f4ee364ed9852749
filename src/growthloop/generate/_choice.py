"""Vectorised categorical draws: categories by customer affinity, products by popularity."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from growthloop.generate._catalogue import Catalogue

__all__ = ["ProductChooser", "choose_rows"]

# Price sensitivities are rounded to this grid when choosing products.
_SENSITIVITY_GRID = np.linspace(-2.0, 4.0, 25)


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
        for table, sensitivity in enumerate(np.repeat(_SENSITIVITY_GRID, categories)):
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
        step = _SENSITIVITY_GRID[1] - _SENSITIVITY_GRID[0]
        level = np.clip(np.round((sensitivity - _SENSITIVITY_GRID[0]) / step), 0,
                        len(_SENSITIVITY_GRID) - 1).astype(np.int64)
        table = level * self.categories + category
        position = np.searchsorted(self.stacked, table + rng.random(len(table)), side="right")
        product: npt.NDArray[np.int64] = self.products[np.minimum(position, len(self.products) - 1)]
        return product
