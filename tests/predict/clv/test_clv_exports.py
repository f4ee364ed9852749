"""The public surface of growthloop.predict.clv."""

from __future__ import annotations

import inspect

import growthloop.predict.clv as clv


def test_all_is_sorted_and_complete() -> None:
    assert clv.__all__ == sorted(clv.__all__)
    public = {
        name for name, value in vars(clv).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert public == set(clv.__all__)
    for name in clv.__all__:
        # Interval is shared with the recommenders (growthloop._constraints).
        assert getattr(clv, name).__module__.startswith(
            ("growthloop.predict.clv._", "growthloop._constraints")
        )
