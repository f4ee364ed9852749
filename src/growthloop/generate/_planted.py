"""The planted item preferences of a generated world: each customer's truly likeliest products.

Every viewed or bought product is drawn in two steps (:mod:`growthloop.generate._choice`): a
category with the customer's affinity, then a product within it with weight popularity x
price^-sensitivity, the sensitivity rounded to the chooser's grid. So the chance that one draw
of customer ``c`` is product ``p`` is

    P(p | c) = affinity[c, category(p)] x P(p | category(p), sensitivity[c])

Sources: the price sensitivity from ``truth/customers.parquet``; the affinities from
``truth/affinity.parquet``, which keeps only each customer's strongest categories (up to four,
at least 0.05), so the rest of the customer's affinity (about 3 % on average) is spread evenly
over the other categories; product popularity is written to no file, so the catalogue is drawn
again from the spec in ``world.json`` (it has its own seeded random stream) and checked against
``products.parquet``.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from growthloop.generate._catalogue import CATEGORIES, Catalogue, make_catalogue
from growthloop.generate._choice import product_shares, sensitivity_level
from growthloop.generate._manifest import FILES, GENERATOR_VERSION
from growthloop.generate._spec import WorldSpec
from growthloop.generate._world import _STREAM_CATALOGUE, _rng

__all__ = ["planted_top_items"]

_BATCH = 4096  # customers scored at a time


def planted_top_items(directory: Path, *, k: int = 10) -> pa.Table:
    """Each customer's ``k`` likeliest products under the simulation, best first.

    Returns a table of ``customer_id``, ``product_id``, ``rank`` (1 = likeliest) and
    ``probability`` (of one product draw, see the module docstring), ``k`` rows per customer
    of ``truth/customers.parquet``, in its order.

    Raises
    ------
    ValueError
        If ``directory`` is not a world of this generator version, or ``k`` is not between 1
        and the number of products.
    """
    spec = _spec(directory)
    catalogue = make_catalogue(spec.products, _rng(spec.seed, _STREAM_CATALOGUE, 0))
    _check_catalogue(catalogue, directory)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= spec.products:
        raise ValueError(f"k must be an integer from 1 to {spec.products} (products), got {k!r}")
    customers = pq.read_table(directory / FILES["truth_customers"],
                              columns=["customer_id", "price_sensitivity"])
    affinity = _affinities(directory, customers.column("customer_id"))
    level = sensitivity_level(customers.column("price_sensitivity").to_numpy())
    shares = product_shares(catalogue)
    top = np.empty((customers.num_rows, k), dtype=np.int64)
    probability = np.empty((customers.num_rows, k))
    for start in range(0, customers.num_rows, _BATCH):
        rows = slice(start, start + _BATCH)
        chance = affinity[rows][:, catalogue.category] * shares[level[rows]]
        best = np.argsort(-chance, axis=1, kind="stable")[:, :k]
        top[rows] = best
        probability[rows] = np.take_along_axis(chance, best, axis=1)
    customer = np.repeat(np.arange(customers.num_rows), k)
    return pa.table({
        "customer_id": customers.column("customer_id").take(pa.array(customer)),
        "product_id": catalogue.product_ids.take(pa.array(top.ravel())),
        "rank": pa.array(np.tile(np.arange(1, k + 1), customers.num_rows), pa.int16()),
        "probability": pa.array(probability.ravel()),
    })


def _spec(directory: Path) -> WorldSpec:
    path = directory / "world.json"
    if not path.is_file():
        raise ValueError(f"{directory} has no world.json; pass a folder `generate_world` wrote")
    manifest = json.loads(path.read_text())
    if manifest.get("version") != GENERATOR_VERSION:
        raise ValueError(
            f"{directory} was written by generator version {manifest.get('version')!r}, not "
            f"{GENERATOR_VERSION}; generate the world again to compare with its truth"
        )
    fields = dict(manifest["spec"])
    fields["start"] = date.fromisoformat(fields["start"])
    return WorldSpec(**fields)


def _check_catalogue(catalogue: Catalogue, directory: Path) -> None:
    written = pq.read_table(directory / FILES["products"], columns=["product_id", "price"])
    if not (
        written.column("product_id").to_pylist() == catalogue.product_ids.to_pylist()
        and np.array_equal(written.column("price").to_numpy(), catalogue.price_gbp)
    ):
        raise ValueError(
            f"the catalogue drawn again from {directory / 'world.json'} differs from "
            "products.parquet; generate the world again"
        )


def _affinities(directory: Path, customer_ids: pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """Customers x categories: the written affinities, the rest spread over the others."""
    table = pq.read_table(directory / FILES["truth_affinity"],
                          columns=["customer_id", "category", "affinity"])
    names = [c.name for c in CATEGORIES]
    row = pc.index_in(table.column("customer_id"), value_set=customer_ids).to_numpy(
        zero_copy_only=False
    )
    column = pc.index_in(table.column("category"), value_set=pa.array(names)).to_numpy(
        zero_copy_only=False
    )
    written = np.zeros((len(customer_ids), len(names)))
    written[row, column] = table.column("affinity").to_numpy()
    listed = written > 0
    spare = np.clip(1.0 - written.sum(axis=1), 0.0, None)
    others = np.maximum(len(names) - listed.sum(axis=1), 1)
    affinity: npt.NDArray[np.float64] = np.where(listed, written, (spare / others)[:, None])
    return affinity
