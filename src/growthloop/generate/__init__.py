"""A seeded, realistic e-commerce demo world to develop and test the loop on.

``generate_world`` writes customers, products, order lines and Segment-spec events as Parquet,
plus the hidden truth they were simulated from (segments, churn times, category affinities)
and ``world.json``; :func:`planted_top_items` derives each customer's truly likeliest products
from that truth. The same :class:`WorldSpec` always gives byte-identical files.

>>> from pathlib import Path
>>> from growthloop.generate import WorldSpec, generate_world
>>> summary = generate_world(WorldSpec(customers=500), Path("demo"))  # doctest: +SKIP
>>> summary.counts["customers"]  # doctest: +SKIP
500
"""

from __future__ import annotations

from growthloop.generate._planted import planted_top_items
from growthloop.generate._spec import WorldSpec, WorldSummary
from growthloop.generate._world import generate_world

__all__ = ["WorldSpec", "WorldSummary", "generate_world", "planted_top_items"]
