"""``world.json``: what was generated, from which spec, and the story behind it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from growthloop.generate._calendar import CAMPAIGN_EVERY_DAYS, Calendar
from growthloop.generate._catalogue import CATEGORIES
from growthloop.generate._dirt import DIRT_KINDS
from growthloop.generate._geo import FX_FROM_GBP
from growthloop.generate._segments import SEGMENTS
from growthloop.generate._sessions import GUEST_SHARE
from growthloop.generate._spec import WorldSpec

__all__ = ["FILES", "GENERATOR_VERSION", "describe_world"]

GENERATOR_VERSION = "1.1.0"  # 1.1: segments set further apart, so clustering can find them
FILES = {
    "customers": "customers.parquet",
    "products": "products.parquet",
    "orders": "orders.parquet",
    "events": "events.parquet",
    "truth_customers": "truth/customers.parquet",
    "truth_affinity": "truth/affinity.parquet",
}


def _segment(index: int) -> dict[str, Any]:
    s = SEGMENTS[index]
    return {
        "name": s.name,
        "share": s.share,
        "description": s.description,
        "sessions_per_year": s.session_rate,
        "conversion": s.conversion,
        "churn_hazard_per_year": s.churn_hazard,
        "price_sensitivity": s.price_sensitivity,
        "email_opt_in": s.opt_in,
        "email_open_rate": s.open_rate,
        "email_click_rate": s.click_rate,
        "gifting_calendar": s.gifting,
        "favourite_categories": s.favourites if len(s.favourites) < len(CATEGORIES) else "any",
    }


def describe_world(
    spec: WorldSpec,
    counts: dict[str, int],
    dirt: dict[str, int],
    calendar: Calendar,
    campaign_ids: pa.Array,
) -> dict[str, Any]:
    """The content of ``world.json`` (deterministic: no timings, no paths outside the world)."""
    spec_fields = asdict(spec)
    spec_fields["start"] = spec.start.isoformat()
    midnight = datetime(spec.start.year, spec.start.month, spec.start.day)
    sends = [midnight + timedelta(days=day) for day in calendar.campaign_days().tolist()]
    return {
        "generator": "growthloop.generate",
        "version": GENERATOR_VERSION,
        "spec": spec_fields,
        "files": dict(FILES),
        "counts": counts,
        "dirt": dirt,
        "dirt_shares": {kind: round(spec.dirty_fraction * weight, 6)
                        for kind, weight in DIRT_KINDS.items()} if spec.dirty_fraction else {},
        "window": {
            "start": f"{spec.start.isoformat()}T00:00:00Z",
            "days": spec.days,
            "timestamps": "UTC, whole seconds",
        },
        "segments": [_segment(index) for index in range(len(SEGMENTS))],
        "categories": [c.name for c in CATEGORIES],
        "currencies": {"prices_in": "GBP", "fx_from_gbp": FX_FROM_GBP},
        "guest_checkout_share": GUEST_SHARE,
        "campaigns": [
            {"campaign_id": campaign, "sent_at": sent.strftime("%Y-%m-%dT%H:%M:%SZ")}
            for campaign, sent in zip(campaign_ids.to_pylist(), sends, strict=True)
        ],
        "campaign_every_days": CAMPAIGN_EVERY_DAYS,
    }
