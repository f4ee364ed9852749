"""``growthloop recommend build``: fit the pipeline on the whole workspace and precompute.

Steps: read the training data (:func:`read_build_data`), fit the :class:`Recommender`,
precompute every customer's top-``n`` in batches (table rows and arrays), build the
similar-items index and the cold-start lists, register the build as the next version of the
``recommender`` model with its arrays in the version folder, swap the table's rows for the new
ones in one transaction, and promote the version, so servers pick it up. If a step fails,
nothing is registered and the table keeps the previous build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from growthloop.errors import ModelError
from growthloop.predict.registry import ModelVersion, promote, register_model
from growthloop.recommend._artifact import ServingArtifact, file_hashes, strip_factors
from growthloop.recommend._build_data import read_build_data
from growthloop.recommend._candidates import TrainingData
from growthloop.recommend._cold_start import popular_lists
from growthloop.recommend._interactions import Interactions
from growthloop.recommend._pipeline import DEFAULT_SOURCES, Recommender
from growthloop.recommend._precompute import Progress, precompute
from growthloop.recommend._rerank import MAX_N
from growthloop.recommend._serving import MAX_SERVED, MODEL_NAME
from growthloop.recommend._similar import similar_index
from growthloop.recommend._table import StagedRows
from growthloop.recommend._tune import Tuning, holdout_split, tune_sources
from growthloop.recommend.sources import ContentSimilarity, ItemBasedSource, ItemCooccurrence
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["RecommendationBuild", "build_recommendations"]

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class RecommendationBuild:
    """What a build did: the promoted model version and counts and timings."""

    model: ModelVersion
    customers: int
    items: int
    rows: int
    n: int
    similar_k: int
    cold_start_customers: int
    seconds: dict[str, float]
    skipped: dict[str, str] = field(default_factory=dict)
    tuned: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.summary(),
            "customers": self.customers,
            "items": self.items,
            "rows": self.rows,
            "n": self.n,
            "similar_k": self.similar_k,
            "cold_start_customers": self.cold_start_customers,
            "seconds": self.seconds,
            "skipped": self.skipped,
            "tuned": self.tuned,
        }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _check(name: str, value: object, high: int, hint: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ModelError(f"{name}={value!r} must be a whole number from 1 to {high}; try {hint}")


def build_recommendations(
    *,
    analytical: AnalyticalStore,
    operational: OperationalStore,
    models_dir: Path,
    n: int = 50,
    sources: Sequence[str] = DEFAULT_SOURCES,
    similar_k: int = 50,
    batch_size: int = 2_000,
    random_state: int = 0,
    candidates: int = 50,
    tune: bool = False,
    progress: Progress | None = None,
    on_stage: Callable[[str], None] | None = None,
    clock: Clock | None = None,
) -> RecommendationBuild:
    """Fit on the whole workspace, precompute every customer's top ``n`` and the top
    ``similar_k`` similar items of every item, register and promote (see the module
    docstring). With ``tune`` each source's hyperparameters are first chosen on the last 30
    days (:func:`holdout_split`, :func:`tune_sources`)."""
    _check("n", n, MAX_N, 50)
    _check("similar_k", similar_k, MAX_SERVED, 50)
    notify = on_stage or (lambda _message: None)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    notify("reading interactions and the catalogue")
    read = read_build_data(analytical)
    data = read.data
    seconds["read"] = time.perf_counter() - started
    tuning = None
    if tune:
        step = time.perf_counter()
        notify("choosing each source's hyperparameters on the last 30 days")
        tuning = tune_sources(data, holdout_split(data.interactions), sources=sources,
                              progress=on_stage)
        seconds["tune"] = time.perf_counter() - step
    step = time.perf_counter()
    notify("fitting the recall sources and the ranker")
    recommender = Recommender(
        sources=tuple(sources), random_state=random_state, candidates=candidates,
        source_params=None if tuning is None else tuning.best,
    ).fit(data)
    seconds["fit"] = time.perf_counter() - step
    built_at = (clock or _now)()
    staging = models_dir / MODEL_NAME / f".build-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    staged = StagedRows(analytical)
    try:
        step = time.perf_counter()
        notify("precomputing every customer's recommendations")
        reasons = precompute(
            recommender, n=n, folder=staging, staged=staged, batch_size=batch_size,
            progress=progress,
        )
        seconds["precompute"] = time.perf_counter() - step
        step = time.perf_counter()
        notify("indexing similar items")
        index = similar_index(
            _similarities(recommender, data), available=_available(data), k=similar_k
        )
        stripped, factors = strip_factors(recommender)
        for stem, array in {**index.arrays(), **factors}.items():
            np.save(staging / f"{stem}.npy", np.ascontiguousarray(array))
        artifact = ServingArtifact(
            recommender=stripped,
            item_names=read.item_names,
            n=n,
            reasons=reasons,
            cold_ids=read.cold_ids,
            cold_groups=read.cold_groups,
            popular=popular_lists(recommender, data, limit=MAX_SERVED),
            files=file_hashes(staging),
            built_at=built_at,
            identities=read.identities,
        )
        seconds["index"] = time.perf_counter() - step
        step = time.perf_counter()
        notify("registering the build")
        registered = _register(operational, models_dir, artifact, recommender, data,
                               staged.rows, seconds, clock, tuning)
        final = models_dir / registered.artifact_path
        for path in staging.iterdir():
            os.replace(path, final / path.name)
        staged.publish(model_version=registered.version, built_at=built_at)
    except BaseException:
        staged.discard()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    promoted = promote(operational, MODEL_NAME, registered.version, clock=clock)
    seconds["register"] = time.perf_counter() - step
    seconds["total"] = time.perf_counter() - started
    return RecommendationBuild(
        model=promoted,
        customers=data.interactions.n_users,
        items=data.interactions.n_items,
        rows=staged.rows,
        n=n,
        similar_k=similar_k,
        cold_start_customers=len(read.cold_ids),
        seconds={k: round(v, 3) for k, v in seconds.items()},
        skipped=dict(recommender.skipped_),
        tuned={} if tuning is None else tuning.best,
    )


def _available(data: TrainingData) -> npt.NDArray[np.bool_]:
    if data.catalogue is None:
        return np.ones(data.interactions.n_items, dtype=bool)
    return data.catalogue.available


def _similarities(recommender: Recommender, data: TrainingData) -> dict[str, sp.csr_matrix]:
    """The pipeline's item x item similarities (fitted anew when it runs without them)."""
    found: dict[str, sp.csr_matrix] = {}
    for name, cls in (("cooccurrence", ItemCooccurrence), ("content", ContentSimilarity)):
        source = recommender.sources_.get(name)
        if not isinstance(source, ItemBasedSource):
            if name == "content" and data.catalogue is None:
                continue
            try:
                source = cls().fit(data)
            except ModelError:  # e.g. a catalogue with no text: the other kind still serves
                continue
        found[name] = source.similarity_
    if not found:
        raise ModelError(
            "neither co-occurrence nor content similarity could be computed for similar items; "
            "load orders or product descriptions"
        )
    return found


def _fingerprint(interactions: Interactions) -> str:
    digest = hashlib.sha256()
    for array in (interactions.user, interactions.item, interactions.weight, interactions.time):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _register(
    operational: OperationalStore,
    models_dir: Path,
    artifact: ServingArtifact,
    recommender: Recommender,
    data: TrainingData,
    rows: int,
    seconds: dict[str, float],
    clock: Clock | None,
    tuning: Tuning | None,
) -> ModelVersion:
    interactions = data.interactions
    known = interactions.time[~np.isnat(interactions.time)]
    first, last = (
        (None, None) if len(known) == 0 else (known.min().item(), known.max().item())
    )
    return register_model(
        store=operational,
        models_dir=models_dir,
        kind=MODEL_NAME,
        name=MODEL_NAME,
        artifact=artifact,
        features=[
            {"name": name, "dtype": "float64"}
            for name in recommender.ranker_.feature_names_in_
        ],
        metrics={
            "customers": interactions.n_users,
            "items": interactions.n_items,
            "interactions": len(interactions),
            "rows": rows,
            "cold_start_customers": len(artifact.cold_ids),
            "ranker_training_rows": recommender.training_rows_,
            "seconds": {k: round(v, 3) for k, v in seconds.items()},
            "evaluated_on": "not evaluated by the build; run `growthloop recommend evaluate`",
            **({} if tuning is None else {"tuning": {
                "metric": f"{tuning.metric}@{tuning.k}", "validation": tuning.validation,
                "chosen": tuning.best, "trials": len(tuning.trials)}}),
        },
        params={
            "sources": list(recommender.sources_),
            "skipped": dict(recommender.skipped_),
            "candidates": recommender.candidates,
            "n": artifact.n,
            "source_params": {
                name: source.get_params() for name, source in recommender.sources_.items()
            },
            "ranker": recommender.ranker_.get_params(),
        },
        training_from=first,
        training_to=last,
        data_fingerprint=_fingerprint(interactions),
        description=(
            f"recall → rank → re-rank over {interactions.n_users:,} customers x "
            f"{interactions.n_items:,} items; top {artifact.n} precomputed per customer"
        ),
        clock=clock,
    )
