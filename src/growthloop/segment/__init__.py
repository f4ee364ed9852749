"""Segments (客户细分): RFM grades and named RFM segments; rule segments as typed, versioned
documents compiled to Ibis, with membership history updated incrementally; clustering."""

from __future__ import annotations

from growthloop.segment._cluster import ClusterReport, MethodResult, cluster_customers
from growthloop.segment._cluster_describe import ClusterSummary
from growthloop.segment._cluster_features import ClusterError
from growthloop.segment._cluster_store import CLUSTER_METHODS, cluster_members
from growthloop.segment._compile import SegmentError
from growthloop.segment._documents import (
    get_segment,
    list_segments,
    parse_segment,
    read_segment_file,
    save_segment,
)
from growthloop.segment._live import SegmentUpdater
from growthloop.segment._membership import MembershipChange, refresh_segment, update_segment
from growthloop.segment._model import SegmentDefinition
from growthloop.segment._rfm import RFM_SEGMENTS, rfm_expr, rfm_segment_name
from growthloop.segment._service import (
    create_segment,
    export_members,
    segment_members,
    update_segments,
)

__all__ = [
    "CLUSTER_METHODS",
    "RFM_SEGMENTS",
    "ClusterError",
    "ClusterReport",
    "ClusterSummary",
    "MembershipChange",
    "MethodResult",
    "SegmentDefinition",
    "SegmentError",
    "SegmentUpdater",
    "cluster_customers",
    "cluster_members",
    "create_segment",
    "export_members",
    "get_segment",
    "list_segments",
    "parse_segment",
    "read_segment_file",
    "refresh_segment",
    "rfm_expr",
    "rfm_segment_name",
    "save_segment",
    "segment_members",
    "update_segment",
    "update_segments",
]
