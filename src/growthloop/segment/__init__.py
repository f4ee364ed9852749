"""Segments (客户细分): RFM grades and named RFM segments; rule segments and clustering follow."""

from __future__ import annotations

from growthloop.segment._rfm import RFM_SEGMENTS, rfm_expr, rfm_segment_name

__all__ = ["RFM_SEGMENTS", "rfm_expr", "rfm_segment_name"]
