"""Hyperparameter constraints declared as data (scikit-learn's ``_parameter_constraints``)."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Interval"]


@dataclass(frozen=True)
class Interval:
    """A numeric range a hyperparameter must lie in (like scikit-learn's ``Interval``)."""

    kind: type
    low: float | None
    high: float | None
    closed: Literal["left", "right", "both", "neither"] = "both"

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        value = float(value)
        if not math.isfinite(value):
            return False
        if self.low is not None and (
            value < self.low or (value == self.low and self.closed in ("right", "neither"))
        ):
            return False
        return self.high is None or not (
            value > self.high or (value == self.high and self.closed in ("left", "neither"))
        )

    def __str__(self) -> str:
        left = "[" if self.closed in ("left", "both") and self.low is not None else "("
        right = "]" if self.closed in ("right", "both") and self.high is not None else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{'an int' if self.kind is int else 'a float'} in {left}{low}, {high}{right}"
