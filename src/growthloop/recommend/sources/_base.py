"""The estimator contract every recall source follows: hyperparameters declared as data.

As in scikit-learn, ``__init__`` only stores keyword hyperparameters; ``fit`` checks them against
``_parameter_constraints`` and checks its input before learning anything, so ``get_params``,
``set_params`` and ``sklearn.base.clone`` work on every source.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from growthloop._constraints import Interval
from growthloop.errors import ModelError
from growthloop.recommend._candidates import RecallSource, TrainingData
from growthloop.recommend._interactions import Interactions

__all__ = ["Interval", "Options", "SourceBase"]


@dataclass(frozen=True)
class Options:
    """A fixed set of allowed values (compared with their type, so ``1`` is not ``True``)."""

    values: tuple[object, ...]

    def __contains__(self, value: object) -> bool:
        return any(type(value) is type(v) and value == v for v in self.values)

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


#: ``None`` in a constraint list means the hyperparameter may be ``None``.
Constraint = Interval | Options | None


class SourceBase(RecallSource):
    """A :class:`RecallSource` with scikit-learn's hyperparameter plumbing."""

    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {}

    n_users_: int
    n_items_: int

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values() if p.name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters, as scikit-learn's ``set_params``."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ModelError(
                    f"{name!r} is not a hyperparameter of {type(self).__name__}; "
                    f"use one of {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _validate_params(self) -> None:
        for name, allowed in self._parameter_constraints.items():
            value = getattr(self, name)
            if any(value is None if c is None else value in c for c in allowed):
                continue
            rule = " or ".join("None" if c is None else str(c) for c in allowed)
            raise ModelError(
                f"{type(self).__name__}({name}={value!r}) is invalid: {name} must be {rule}; "
                "pass a value that is"
            )

    def _start_fit(self, data: TrainingData) -> Interactions:
        """Check the hyperparameters and the training data; remember the vocabulary sizes."""
        self._validate_params()
        if not isinstance(data, TrainingData):
            raise ModelError(
                f"{type(self).__name__}.fit needs a TrainingData, got {type(data).__name__}; "
                "wrap the Interactions in TrainingData(interactions=...)"
            )
        interactions = data.interactions
        if not (interactions.weight > 0).any():
            raise ModelError(
                f"the interactions have {len(interactions)} entries and none with a positive "
                f"weight; {type(self).__name__} needs at least one purchase, cart or view"
            )
        self.n_users_ = interactions.n_users
        self.n_items_ = interactions.n_items
        return interactions
