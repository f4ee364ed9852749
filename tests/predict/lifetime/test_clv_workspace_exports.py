"""The public surface of growthloop.predict.lifetime."""

from __future__ import annotations

import inspect

import growthloop.predict.lifetime as lifetime


def test_all_is_sorted_and_complete() -> None:
    # constants first, then classes and functions (isort's order, as ruff keeps it)
    assert lifetime.__all__ == sorted(lifetime.__all__, key=lambda n: (not n.isupper(), n))
    public = {
        name for name, value in vars(lifetime).items()
        if not name.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
    }
    assert public <= set(lifetime.__all__)
    for name in lifetime.__all__:
        value = getattr(lifetime, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith("growthloop.predict.lifetime._")
