"""What a recommendation build registers, and the array files it keeps next to it.

The registry stores a :class:`ServingArtifact` as ``model.joblib``: the fitted pipeline without
its factor matrices, plus what serving reads besides it. The large arrays (factor matrices,
every customer's top-N, the similar-items index) are ``.npy`` files in the same version folder,
each with its SHA-256 in the artifact (so the registry's check of ``model.joblib`` covers them
too), and are memory-mapped when served: pages are read from disk only when a request touches
them and are shared by every process serving the build.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from growthloop.errors import ModelError
from growthloop.predict.registry._artifacts import file_sha256
from growthloop.recommend._pipeline import Recommender
from growthloop.recommend.sources import MatrixFactorization

__all__ = [
    "ServingArtifact",
    "attach_factors",
    "file_hashes",
    "load_arrays",
    "strip_factors",
]

#: A ranked list of items (indices) and their scores.
Ranking = tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]


@dataclass(eq=False)
class ServingArtifact:
    """Everything serving a build needs besides its ``.npy`` files.

    Attributes
    ----------
    recommender
        The fitted pipeline, its factor matrices removed (:func:`strip_factors`).
    item_names
        A display name per item index (the product title, else the id).
    n
        Items precomputed per customer.
    reasons
        ``(reason_code, reason)`` by the reason ids of ``top_reasons.npy``.
    cold_ids, cold_groups
        Customers known at build time with no interactions, and their segment ("" unknown).
    popular
        Popular available items by segment label ("" = every customer), best first.
    files
        ``.npy`` file name -> SHA-256 of the build's arrays.
    built_at
        When the build ran (naive UTC).
    identities
        Email addresses and phone numbers of the build's customers -> their canonical id, so
        a request naming a customer by either is answered without opening the store (empty
        for builds made before it existed).
    """

    recommender: Recommender
    item_names: npt.NDArray[np.object_]
    n: int
    reasons: list[tuple[str, str]]
    cold_ids: npt.NDArray[np.object_]
    cold_groups: npt.NDArray[np.object_]
    popular: dict[str, Ranking]
    files: dict[str, str]
    built_at: datetime
    identities: dict[str, str] = field(default_factory=dict)


def _factor_sources(recommender: Recommender) -> dict[str, MatrixFactorization]:
    return {
        name: source
        for name, source in recommender.sources_.items()
        if isinstance(source, MatrixFactorization)
    }


def strip_factors(
    recommender: Recommender,
) -> tuple[Recommender, dict[str, npt.NDArray[np.float32]]]:
    """A shallow copy of ``recommender`` without factor matrices, and the matrices by file
    stem (``als_user_factors``, ``als_item_factors``); ``recommender`` is left as it is."""
    stripped = copy.copy(recommender)
    sources = dict(recommender.sources_)
    arrays: dict[str, npt.NDArray[np.float32]] = {}
    for name, source in _factor_sources(recommender).items():
        arrays[f"{name}_user_factors"] = source.user_factors_
        arrays[f"{name}_item_factors"] = source.item_factors_
        light = copy.copy(source)
        for attribute in ("user_factors_", "item_factors_", "_fold_in"):
            light.__dict__.pop(attribute, None)
        sources[name] = light
    stripped.sources_ = sources
    return stripped, arrays


def attach_factors(
    recommender: Recommender, arrays: dict[str, npt.NDArray[np.generic]]
) -> None:
    """Give the factor sources of a stripped ``recommender`` their (memory-mapped) matrices."""
    for name, source in _factor_sources(recommender).items():
        user, item = f"{name}_user_factors", f"{name}_item_factors"
        if user not in arrays or item not in arrays:
            raise ModelError(
                f"the build has no {user}.npy / {item}.npy; run `growthloop recommend build` again"
            )
        # np.asarray keeps the mapping (a view, no copy) and gives the declared type.
        source.user_factors_ = np.asarray(arrays[user], dtype=np.float32)
        source.item_factors_ = np.asarray(arrays[item], dtype=np.float32)


def file_hashes(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 of every ``.npy`` file in ``folder``."""
    return {path.name: file_sha256(path) for path in sorted(folder.glob("*.npy"))}


def load_arrays(
    folder: Path, files: dict[str, str], *, copy_on_write: frozenset[str] = frozenset()
) -> dict[str, npt.NDArray[np.generic]]:
    """Memory-map every file of ``files`` in ``folder`` after checking its SHA-256.

    Arrays are mapped read-only, except those whose stem is in ``copy_on_write``: mapped
    copy-on-write, for code (``implicit``'s Cython) that will not take a read-only buffer
    although it never writes; they still share the file's pages until written to.
    """
    arrays: dict[str, npt.NDArray[np.generic]] = {}
    for name, expected in files.items():
        path = folder / name
        if not path.is_file():
            raise ModelError(
                f"{path} is missing: the models folder was moved or cleaned; run "
                "`growthloop recommend build` again"
            )
        actual = file_sha256(path)
        if actual != expected:
            raise ModelError(
                f"{path} has changed since the build (sha256 {actual[:12]}… instead of "
                f"{expected[:12]}…); it is not served — run `growthloop recommend build` again"
            )
        stem = path.stem
        if stem in copy_on_write:
            arrays[stem] = np.load(path, mmap_mode="c", allow_pickle=False)
        else:
            arrays[stem] = np.load(path, mmap_mode="r", allow_pickle=False)
    return arrays
