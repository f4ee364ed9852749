"""Rule segments as typed documents: a tree of conditions (a pydantic discriminated union on
``type``), validated on save, versioned, compiled to Ibis.

Node types:

- ``trait``: compare a profile attribute (``{"type": "trait", "field": "country", "op": "eq",
  "value": "GB"}``);
- ``performed``: performed event E at least/at most N times within W days, with property filters;
- ``last_performed``: last performed E before/after W days ago (or never);
- ``in_segment``: member of another segment (cycles are refused);
- ``rfm_segment``: in one of the named RFM segments;
- ``random_bucket``: a stable pseudo-random share of customers, by hashing (salt, customer id);
- ``in_cluster``: in a cluster of the latest clustering run (a cluster saved as a segment);
- ``and``, ``or``, ``not``.

Unknown fields, wrong types and empty windows are refused with the path of the bad node.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from growthloop.segment._rfm import RFM_SEGMENTS

__all__ = [
    "AndNode",
    "ClusterNode",
    "Condition",
    "LastPerformedNode",
    "NotNode",
    "OrNode",
    "PerformedNode",
    "PropertyFilter",
    "RandomBucketNode",
    "RfmSegmentNode",
    "SegmentDefinition",
    "SegmentRefNode",
    "TraitNode",
    "walk",
    "walk_with_references",
]

Scalar = str | int | float | bool
CompareOp = Literal[
    "eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists", "not_exists"
]
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_value(op: str, value: Any) -> Any:
    if op in ("exists", "not_exists"):
        if value is not None:
            raise ValueError(f"op '{op}' takes no value")
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"op '{op}' needs a non-empty list as value")
        return value
    if value is None or isinstance(value, list | dict):
        raise ValueError(f"op '{op}' needs one string, number or boolean as value")
    return value


class TraitNode(_Node):
    """A profile attribute compared with a value."""

    type: Literal["trait"]
    field: str = Field(min_length=1)
    op: CompareOp
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> TraitNode:
        _check_value(self.op, self.value)
        return self


class PropertyFilter(_Node):
    """A condition on an event property (``properties.<property>``)."""

    property: str = Field(min_length=1)
    op: CompareOp
    value: Scalar | list[Scalar] | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> PropertyFilter:
        _check_value(self.op, self.value)
        return self


class PerformedNode(_Node):
    """Performed ``event`` at least ``at_least`` and at most ``at_most`` times within the last
    ``within_days`` days (all time when omitted), counting events whose properties match
    ``where``."""

    type: Literal["performed"]
    event: str = Field(min_length=1)
    at_least: int = Field(default=1, ge=0)
    at_most: int | None = Field(default=None, ge=0)
    within_days: int | None = Field(default=None, gt=0, le=3650)
    where: list[PropertyFilter] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bounds(self) -> PerformedNode:
        if self.at_most is not None and self.at_most < self.at_least:
            raise ValueError(
                f"at_most ({self.at_most}) is below at_least ({self.at_least}): no count fits"
            )
        if self.at_least == 0 and self.at_most is None:
            raise ValueError("at_least 0 with no at_most matches everyone; set at_most")
        return self


class LastPerformedNode(_Node):
    """The last ``event`` happened before (longer ago than) or after (more recently than)
    ``days_ago`` days; ``never`` matches customers who never performed it."""

    type: Literal["last_performed"]
    event: str = Field(min_length=1)
    when: Literal["before", "after", "never"]
    days_ago: int | None = Field(default=None, gt=0, le=3650)

    @model_validator(mode="after")
    def _days(self) -> LastPerformedNode:
        if self.when == "never" and self.days_ago is not None:
            raise ValueError("when 'never' takes no days_ago")
        if self.when != "never" and self.days_ago is None:
            raise ValueError(f"when '{self.when}' needs days_ago")
        return self


class SegmentRefNode(_Node):
    """Member of another segment."""

    type: Literal["in_segment"]
    segment: str = Field(min_length=1)


class RfmSegmentNode(_Node):
    """In one of the named RFM segments."""

    type: Literal["rfm_segment"]
    segments: list[str] = Field(min_length=1)

    @field_validator("segments")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in RFM_SEGMENTS]
        if unknown:
            raise ValueError(f"unknown RFM segment(s) {unknown}; use {list(RFM_SEGMENTS)}")
        return value


class RandomBucketNode(_Node):
    """A stable share of customers: those whose hash of (salt, customer id) falls below
    ``percent``."""

    type: Literal["random_bucket"]
    salt: str = Field(min_length=1)
    percent: float = Field(gt=0, le=100)


class ClusterNode(_Node):
    """In a cluster of the latest ``growthloop cluster`` run (saving a cluster as a segment)."""

    type: Literal["in_cluster"]
    method: Literal["kmeans", "gmm", "dbscan"] = "kmeans"
    cluster: int = Field(ge=-1)


class AndNode(_Node):
    type: Literal["and"]
    conditions: list[Condition] = Field(min_length=1)


class OrNode(_Node):
    type: Literal["or"]
    conditions: list[Condition] = Field(min_length=1)


class NotNode(_Node):
    type: Literal["not"]
    condition: Condition


Condition = Annotated[
    TraitNode
    | PerformedNode
    | LastPerformedNode
    | SegmentRefNode
    | RfmSegmentNode
    | RandomBucketNode
    | ClusterNode
    | AndNode
    | OrNode
    | NotNode,
    Field(discriminator="type"),
]
AndNode.model_rebuild()
OrNode.model_rebuild()
NotNode.model_rebuild()


class SegmentDefinition(BaseModel):
    """A segment document as written by a user (YAML or JSON)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    condition: Condition

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError(
                f"id {value!r} must be lower-case letters, digits, '-' or '_' (at most 63), "
                "starting with a letter or digit, e.g. 'vip-uk'"
            )
        return value


def walk(node: Any) -> list[Any]:
    """Every node of a condition tree, depth first."""
    out = [node]
    if isinstance(node, AndNode | OrNode):
        for child in node.conditions:
            out += walk(child)
    elif isinstance(node, NotNode):
        out += walk(node.condition)
    return out


def walk_with_references(definition: SegmentDefinition, resolve: Any) -> list[Any]:
    """Every node of ``definition``'s tree and of the segments it refers to (each once)."""
    out: list[Any] = []
    stack, seen = [definition], {definition.id}
    while stack:
        for node in walk(stack.pop().condition):
            out.append(node)
            if isinstance(node, SegmentRefNode) and node.segment not in seen:
                seen.add(node.segment)
                stack.append(resolve(node.segment))
    return out
