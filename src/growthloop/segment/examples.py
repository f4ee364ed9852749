"""Example segment documents: the two the demo creates, and a starting point for your own."""

from __future__ import annotations

from typing import Any

__all__ = ["EXAMPLE_SEGMENTS"]

EXAMPLE_SEGMENTS: list[dict[str, Any]] = [
    {
        "id": "engaged-browsers",
        "name": "Engaged browsers who have not bought lately",
        "description": "Viewed at least 3 products in the last 30 days, opened an email, and "
        "have not ordered in the last 60 days: ready for a nudge.",
        "condition": {
            "type": "and",
            "conditions": [
                {"type": "performed", "event": "Product Viewed", "at_least": 3, "within_days": 30},
                {"type": "performed", "event": "Email Opened", "within_days": 60},
                {
                    "type": "not",
                    "condition": {
                        "type": "performed",
                        "event": "Order Completed",
                        "within_days": 60,
                    },
                },
            ],
        },
    },
    {
        "id": "vip-at-risk",
        "name": "Valuable customers at risk",
        "description": "RFM 'At risk' or 'Can't lose' with net spend of at least 500.",
        "condition": {
            "type": "and",
            "conditions": [
                {"type": "rfm_segment", "segments": ["At risk", "Can't lose"]},
                {"type": "trait", "field": "monetary", "op": "gte", "value": 500},
            ],
        },
    },
]
