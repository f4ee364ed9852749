"""A seeded, realistic e-commerce demo world: customers, products, orders, Segment events and
the hidden truth (segments, churn, affinities) they were generated from.

>>> from growthloop.generate import WorldSpec, generate_world
>>> summary = generate_world(WorldSpec(customers=500), Path("demo"))  # doctest: +SKIP
"""

from __future__ import annotations

from growthloop.generate._spec import WorldSpec, WorldSummary
from growthloop.generate._world import generate_world

__all__ = ["WorldSpec", "WorldSummary", "generate_world"]
