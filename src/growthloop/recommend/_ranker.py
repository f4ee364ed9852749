"""A learned ranker over candidate features: LightGBM with the LambdaRank objective.

LambdaMART (Burges 2010) fits boosted regression trees to "lambdas", the gradients of a pairwise
logistic loss between the relevant and irrelevant candidates of one query, each pair weighted by
how much swapping the two would change NDCG. Here a query is a user, the documents are the
union of the recall sources' candidates (:func:`candidate_features`) and a candidate is
relevant when the user interacted with it, with positive summed weight, in a later period.

References
----------
C. J. C. Burges (2010), "From RankNet to LambdaRank to LambdaMART: An Overview", Microsoft
Research Technical Report MSR-TR-2010-82.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

import lightgbm as lgb
import lleaves  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import pandas as pd

from growthloop.errors import ModelError, NotFittedError
from growthloop.recommend._candidates import Candidates, Catalogue
from growthloop.recommend._features import CandidateFeatures, candidate_features
from growthloop.recommend._interactions import Interactions

__all__ = ["LearnedRanker", "RankerTrainingSet", "training_frame"]


@dataclass(frozen=True, eq=False)
class RankerTrainingSet:
    """Candidate features with a relevance label per row and the user (query) of each row."""

    features: CandidateFeatures
    labels: npt.NDArray[np.int32]
    groups: npt.NDArray[np.int32]


def training_frame(
    candidates: Sequence[Candidates],
    later: Interactions,
    *,
    train: Interactions,
    catalogue: Catalogue | None = None,
    **feature_options: Any,
) -> RankerTrainingSet:
    """Features of ``candidates`` (from sources fitted on ``train``) labelled by ``later``.

    A row's label is 1 when the user's summed weight for the item in ``later`` (the validation
    period, over ``train``'s vocabularies as :func:`validation_split` gives it) is positive,
    else 0. ``feature_options`` go to :func:`candidate_features`.
    """
    if (later.n_users, later.n_items) != (train.n_users, train.n_items):
        raise ModelError(
            f"the label log has {later.n_users} users x {later.n_items} items but the "
            f"training log {train.n_users} x {train.n_items}; express both in the same "
            "vocabularies (use the train and test of one Split)"
        )
    features = candidate_features(candidates, train=train, catalogue=catalogue, **feature_options)
    user = features.frame["user"].to_numpy(np.int64)
    item = features.frame["item"].to_numpy(np.int64)
    relevant = later.matrix().tocsr()
    relevant.sort_indices()
    labels = np.zeros(len(user), dtype=np.int32)
    if relevant.nnz:
        rows = np.repeat(np.arange(relevant.shape[0], dtype=np.int64), np.diff(relevant.indptr))
        keys = rows * later.n_items + relevant.indices
        wanted = user * later.n_items + item
        position = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        labels = (keys[position] == wanted).astype(np.int32)
    return RankerTrainingSet(features=features, labels=labels, groups=user.astype(np.int32))


class LearnedRanker:
    """LambdaMART over candidate features (LightGBM ``LGBMRanker``, ``objective="lambdarank"``).

    Training is deterministic: one seed, ``deterministic=True``, row-wise histograms and
    ``num_threads`` OpenMP threads (keep 1 or 2; more stall on a busy machine).

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, reg_lambda
        LightGBM's tree-boosting hyperparameters.
    truncation_level
        LambdaRank's ``lambdarank_truncation_level``: pairs are formed with the top this many
        candidates of a user (the list length the ranking is judged at, or a bit more).
    screen_trees
        Trees of the cheap first stage when :meth:`rank` is asked to keep only each user's
        best rows (a cascade).
    random_state
        The seed.
    num_threads
        OpenMP threads for training and scoring.

    Attributes
    ----------
    model_
        The fitted ``lightgbm.LGBMRanker``.
    feature_names_in_, n_features_in_
        The feature columns seen in :meth:`fit`, in order.
    feature_importances_
        Each feature's share of the total split gain (sums to 1, or all 0 for a stump).
    n_groups_
        Users trained on (those with at least one relevant candidate).
    compiled_
        After :meth:`compile`: the native forests by number of trees (None = all).

    References
    ----------
    C. J. C. Burges (2010), "From RankNet to LambdaRank to LambdaMART: An Overview", MSR-TR-2010-82.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> features = pd.DataFrame({"signal": rng.random(400), "noise": rng.random(400)})
    >>> labels = (features["signal"] > 0.8).astype(int).to_numpy()
    >>> groups = np.repeat(np.arange(40), 10)
    >>> ranker = LearnedRanker(n_estimators=20).fit(features, labels, groups)
    >>> max(ranker.importance(), key=ranker.importance().get)
    'signal'
    """

    _parameter_constraints: ClassVar[dict[str, tuple[type, float, float | None]]] = {
        "n_estimators": (int, 1, None),
        "learning_rate": (float, 1e-6, 1.0),
        "num_leaves": (int, 2, 131_072),
        "min_child_samples": (int, 1, None),
        "reg_lambda": (float, 0.0, None),
        "truncation_level": (int, 1, None),
        "screen_trees": (int, 1, None),
        "random_state": (int, 0, None),
        "num_threads": (int, 1, 64),
    }

    model_: lgb.LGBMRanker
    feature_names_in_: list[str]
    n_features_in_: int
    feature_importances_: npt.NDArray[np.float64]
    n_groups_: int
    compiled_: dict[int | None, Any]

    def __init__(
        self,
        *,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        reg_lambda: float = 1.0,
        truncation_level: int = 20,
        screen_trees: int = 20,
        random_state: int = 0,
        num_threads: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.reg_lambda = reg_lambda
        self.truncation_level = truncation_level
        self.screen_trees = screen_trees
        self.random_state = random_state
        self.num_threads = num_threads

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in sorted(self._parameter_constraints)}

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters, as scikit-learn's ``set_params``."""
        for name, value in params.items():
            if name not in self._parameter_constraints:
                raise ModelError(
                    f"{name!r} is not a hyperparameter of LearnedRanker; use one of "
                    f"{', '.join(sorted(self._parameter_constraints))}"
                )
            setattr(self, name, value)
        return self

    def __getstate__(self) -> dict[str, Any]:
        # Native code and the per-stage boosters are rebuilt on use.
        return {k: v for k, v in self.__dict__.items() if k not in ("compiled_", "_stages")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update({"screen_trees": 20, **state})  # rankers saved before the cascade

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"LearnedRanker({args})"

    def fit(
        self,
        features: pd.DataFrame | CandidateFeatures,
        labels: npt.ArrayLike,
        groups: npt.ArrayLike,
    ) -> Self:
        """Learn to order each group's rows by their labels.

        Parameters
        ----------
        features
            One row per candidate, numeric columns only (NaN allowed), or the
            :class:`CandidateFeatures` whose feature columns to use.
        labels
            Relevance per row: whole numbers >= 0 (1 = relevant).
        groups
            The query (user) of each row; rows need not be contiguous. Groups with no relevant
            row carry no pairwise information and are dropped.
        """
        self._validate_params()
        frame = _feature_frame(features)
        label = np.asarray(labels)
        group = np.asarray(groups)
        if len(label) != len(frame) or len(group) != len(frame):
            raise ModelError(
                f"features have {len(frame)} rows, labels {len(label)} and groups {len(group)}; "
                "pass one label and one group per feature row"
            )
        if len(frame) == 0 or not np.issubdtype(label.dtype, np.number) or not (
            np.all(label >= 0) and np.all(label == np.round(label))
        ):
            raise ModelError(
                f"labels must be whole numbers >= 0 (got dtype {label.dtype}, "
                f"{len(label)} rows); pass 1 for a relevant candidate and 0 otherwise"
            )
        matrix = _numeric(frame)
        order = np.argsort(group, kind="stable")
        group_ids, starts, sizes = np.unique(group[order], return_index=True, return_counts=True)
        positives = np.add.reduceat((label[order] > 0).astype(np.int64), starts)
        kept = positives > 0
        if not kept.any():
            raise ModelError(
                f"none of the {len(group_ids)} users has a relevant candidate, so there is "
                "nothing to learn; use a longer label period or more candidates per user"
            )
        rows = order[np.repeat(kept, sizes)]
        for stale in ("compiled_", "_stages"):  # built from the previous fit
            self.__dict__.pop(stale, None)
        self.model_ = lgb.LGBMRanker(
            objective="lambdarank",
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=self.min_child_samples,
            reg_lambda=self.reg_lambda,
            lambdarank_truncation_level=self.truncation_level,
            random_state=self.random_state,
            n_jobs=self.num_threads,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        self.model_.fit(matrix[rows], label[rows].astype(np.int32), group=sizes[kept])
        self.feature_names_in_ = [str(c) for c in frame.columns]
        self.n_features_in_ = len(self.feature_names_in_)
        gain = self.model_.booster_.feature_importance(importance_type="gain").astype(np.float64)
        self.feature_importances_ = gain / gain.sum() if gain.sum() > 0 else gain
        self.n_groups_ = int(kept.sum())
        return self

    def rank(
        self,
        features: pd.DataFrame | CandidateFeatures,
        *,
        groups: npt.ArrayLike | None = None,
        keep: int | None = None,
    ) -> npt.NDArray[np.float64]:
        """A score per row; higher ranks first within a user (only the order is meaningful).

        ``features`` must hold every column seen in :meth:`fit` (others are ignored). With
        ``groups`` (the user of each row) and ``keep``, scoring is a two-stage cascade (Wang,
        Lin & Metzler 2011, "A cascade ranking model for efficient ranked retrieval", SIGIR):
        every row is screened with the first ``screen_trees`` trees, only each user's ``keep``
        best rows are scored by the whole ensemble, and the others are placed below them, in
        their screening order. The kept rows' scores and order are exactly the full model's.
        """
        self._check_fitted()
        frame = _feature_frame(features)
        missing = [name for name in self.feature_names_in_ if name not in frame.columns]
        if missing:
            raise ModelError(
                f"features lack the columns {missing} the ranker was fitted on; build them with "
                "the same recall sources (source names) as in training"
            )
        # Row-major once: LightGBM copies a column-major matrix on every call.
        matrix = np.ascontiguousarray(_numeric(frame[self.feature_names_in_]))
        if len(matrix) == 0:
            return np.zeros(0, dtype=np.float64)
        trees = self.model_.booster_.num_trees()
        if groups is None or keep is None or self.screen_trees >= trees:
            return self._predict(matrix)
        if isinstance(keep, bool) or not isinstance(keep, int | np.integer) or keep < 1:
            raise ModelError(f"keep={keep!r} must be a whole number >= 1; try 50")
        group = np.asarray(groups)
        if len(group) != len(matrix):
            raise ModelError(
                f"groups has {len(group)} entries for {len(matrix)} feature rows; pass the user "
                "of each row"
            )
        screen = self._predict(matrix, trees=self.screen_trees)
        order = np.lexsort((-screen, group))  # by user, best screened first
        starts = np.r_[True, group[order][1:] != group[order][:-1]]
        run = np.cumsum(starts) - 1  # each sorted row's user run
        first = np.flatnonzero(starts)
        position = np.arange(len(order)) - first[run]
        if position.max(initial=0) < keep:
            return self._predict(matrix)
        shortlisted = position < keep
        scores = np.empty(len(matrix), dtype=np.float64)
        scores[order[shortlisted]] = self._predict(matrix[order[shortlisted]])
        # The rest go below each user's lowest shortlisted score, in screening order: the
        # first dropped row of a run has that run's highest screening score.
        floor = np.full(len(first), np.inf)
        np.minimum.at(floor, run[shortlisted], scores[order[shortlisted]])
        dropped = ~shortlisted
        long_runs = np.flatnonzero(np.diff(np.r_[first, len(order)]) > keep)
        ceiling_of = np.zeros(len(first))
        ceiling_of[long_runs] = screen[order[first[long_runs] + keep]]
        rows = order[dropped]
        scores[rows] = floor[run[dropped]] - 1.0 - (ceiling_of[run[dropped]] - screen[rows])
        return scores

    def compile(self) -> Self:
        """Compile the screening and the full forest to machine code, for large batches.

        lleaves (Böhm 2021, https://github.com/siboehm/lleaves) turns each forest into LLVM IR
        and native code: it returns LightGBM's raw scores (equal up to the order of summing
        doubles, ~1e-14) about 10x faster. Compiling takes a few seconds, so it pays off only
        when many rows are scored; :func:`~growthloop.recommend.precompute` compiles before a
        large build. The compiled code lives in this process only (it is not pickled).
        """
        self._check_fitted()
        compiled: dict[int | None, Any] = {}
        screen = self.screen_trees if self.screen_trees < self.model_.booster_.num_trees() else None
        with tempfile.TemporaryDirectory(prefix="growthloop-ranker-") as folder:
            for trees in {screen, None}:
                path = f"{folder}/trees-{trees}.txt"
                with open(path, "w", encoding="utf-8") as file:
                    file.write(self.model_.booster_.model_to_string(num_iteration=trees))
                forest = lleaves.Model(model_file=path)
                forest.compile(raw_score=True)
                compiled[trees] = forest
        self.compiled_ = compiled
        return self

    def _predict(
        self, matrix: npt.NDArray[np.float64], trees: int | None = None
    ) -> npt.NDArray[np.float64]:
        forest = getattr(self, "compiled_", {}).get(trees)
        if forest is not None:
            return np.asarray(forest.predict(matrix, n_jobs=self.num_threads), dtype=np.float64)
        scores = self._stage(trees).predict(matrix, num_threads=self.num_threads)
        return np.asarray(scores, dtype=np.float64)

    def _stage(self, trees: int | None) -> lgb.Booster:
        """A booster of the first ``trees`` trees (None: all) of its own. LightGBM sets the
        number of trees to predict with on the booster itself, so threads scoring both stages
        of the cascade with one booster race (and sometimes score with the other's trees)."""
        if trees is None or trees >= self.model_.booster_.num_trees():
            return self.model_.booster_
        stages: dict[int, lgb.Booster] = self.__dict__.setdefault("_stages", {})
        if trees not in stages:  # two threads may both build it: either is right
            stages[trees] = lgb.Booster(
                model_str=self.model_.booster_.model_to_string(num_iteration=trees)
            )
        return stages[trees]

    def importance(
        self, kind: Literal["gain", "split"] = "gain"
    ) -> dict[str, float]:
        """Each feature's share of the total ``gain`` or of the ``split`` count, largest first."""
        self._check_fitted()
        if kind not in ("gain", "split"):
            raise ModelError(f"kind={kind!r} is not an importance type; use 'gain' or 'split'")
        values = self.model_.booster_.feature_importance(importance_type=kind).astype(float)
        shares = values / values.sum() if values.sum() > 0 else values
        pairs = sorted(zip(self.feature_names_in_, shares, strict=True), key=lambda p: -p[1])
        return {name: float(share) for name, share in pairs}

    def _validate_params(self) -> None:
        for name, (kind, low, high) in self._parameter_constraints.items():
            value = getattr(self, name)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if kind is int and not isinstance(value, int | np.integer):
                numeric = False
            if numeric and np.isfinite(value) and value >= low and (high is None or value <= high):
                continue
            bound = f"[{low:g}, {'inf' if high is None else f'{high:g}'}]"
            raise ModelError(
                f"LearnedRanker({name}={value!r}) is invalid: {name} must be "
                f"{'an int' if kind is int else 'a number'} in {bound}; pass a value in range"
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "This LearnedRanker instance is not fitted yet. Call 'fit' with features, "
                "labels and groups before using it."
            )


def _feature_frame(features: pd.DataFrame | CandidateFeatures) -> pd.DataFrame:
    if isinstance(features, CandidateFeatures):
        return features.features
    if not isinstance(features, pd.DataFrame):
        raise ModelError(
            f"features must be a pandas DataFrame or CandidateFeatures, got "
            f"{type(features).__name__}; build them with candidate_features"
        )
    return features


def _numeric(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """The frame as a float matrix; a non-numeric column is an error naming it."""
    bad = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise ModelError(
            f"feature columns {bad} are not numeric; pass numeric features only (drop user, "
            "item, source and anchor, or pass the CandidateFeatures itself)"
        )
    matrix: npt.NDArray[np.float64] = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    return matrix
