"""Every recall source by name, default-configured, so an evaluation can run each one alone."""

from __future__ import annotations

from typing import Any

from growthloop.errors import ModelError
from growthloop.recommend.sources._als import ALS
from growthloop.recommend.sources._base import SourceBase
from growthloop.recommend.sources._bpr import BPR
from growthloop.recommend.sources._buy_again import BuyAgain
from growthloop.recommend.sources._content import ContentSimilarity
from growthloop.recommend.sources._cooccurrence import ItemCooccurrence
from growthloop.recommend.sources._popularity import (
    GroupPopularity,
    Popularity,
    TrendingPopularity,
)
from growthloop.recommend.sources._user_knn import UserKNN

__all__ = ["SOURCE_NAMES", "default_sources", "make_source"]

_SOURCES: dict[str, type[SourceBase]] = {
    cls.name: cls
    for cls in (
        BuyAgain,
        Popularity,
        GroupPopularity,
        TrendingPopularity,
        ItemCooccurrence,
        ALS,
        BPR,
        ContentSimilarity,
        UserKNN,
    )
}

#: The registered source names, in the order above (cheap and non-personal sources first).
SOURCE_NAMES: tuple[str, ...] = tuple(_SOURCES)


def make_source(name: str, **params: Any) -> SourceBase:
    """A new, unfitted source called ``name``, with ``params`` overriding its defaults.

    >>> make_source("user_knn", n_neighbours=20)
    UserKNN(half_life_days=None, n_neighbours=20)
    """
    if name not in _SOURCES:
        raise ModelError(
            f"{name!r} is not a recall source; use one of {', '.join(SOURCE_NAMES)}"
        )
    return _SOURCES[name]().set_params(**params)


def default_sources() -> dict[str, SourceBase]:
    """A new, default-configured instance of every source, by name.

    ``"content"`` needs a catalogue and ``"buy_again"`` interaction times; the others need only
    interactions (``"popular_group"`` falls back to global popularity without groups).
    """
    return {name: make_source(name) for name in SOURCE_NAMES}
