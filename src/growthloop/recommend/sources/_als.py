"""Implicit-feedback ALS: matrix factorisation weighted by confidence, from ``implicit``."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from growthloop.recommend._candidates import Candidates
from growthloop.recommend._interactions import Interactions
from growthloop.recommend.sources._base import Constraint, Interval, Options
from growthloop.recommend.sources._factorization import Factors, MatrixFactorization
from growthloop.recommend.sources._ranking import check_history, exclusion_rows

__all__ = ["ALS"]

#: BM25's term-frequency saturation and length normalisation, as in ``implicit``'s examples.
_BM25_K1 = 100.0
_BM25_B = 0.8


class ALS(MatrixFactorization):
    """Alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008,
    "Collaborative Filtering for Implicit Feedback Datasets", ICDM), trained by ``implicit``.

    Every user-item pair has preference ``p_ui = 1`` if the user interacted with the item and 0
    otherwise, held with confidence ``c_ui = 1 + alpha * f(r_ui)`` (equation (3) of the paper with
    ``r_ui`` the summed, optionally decayed, weight and ``f`` the identity for
    ``weighting="confidence"`` or BM25 for ``"bm25"``: users as documents, items as terms, so an
    item everybody buys and a user who buys everything weigh less). The factors minimise
    equation (3), ``sum c_ui (p_ui - x_u . y_i) ** 2 + regularization * (|x|^2 + |y|^2)``.

    A user's new interactions give new factors without retraining (:meth:`recalculate_user`,
    the paper's equation (4) for one user). A candidate's anchor is the history item with the
    largest share of its score in the paper's explanation (section 5): ``s_ij = c_uj * y_j^T W_u
    y_i`` with ``W_u = (Y^T C_u Y + regularization * I)^-1``.

    Parameters
    ----------
    factors
        Number of latent factors.
    regularization
        L2 penalty.
    alpha
        Confidence scale ``alpha``.
    iterations
        ALS sweeps.
    weighting
        ``"bm25"`` or ``"confidence"``: the ``f`` above.
    half_life_days
        Half-life of the interaction weights; None for no decay.
    num_threads
        OpenMP threads of ``implicit`` (1 gives the same factors run after run).
    random_state
        Seed of the initial factors.

    Attributes
    ----------
    item_idf_, mean_length_
        BM25's item weights and mean user length, kept so new histories weigh the same.
    """

    name = "als"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "factors": [Interval(int, 1, None)],
        "regularization": [Interval(float, 0.0, None, closed="left")],
        "alpha": [Interval(float, 0.0, None, closed="neither")],
        "iterations": [Interval(int, 1, None)],
        "weighting": [Options(("bm25", "confidence"))],
        "half_life_days": [Interval(float, 0.0, None, closed="neither"), None],
        "num_threads": [Interval(int, 1, None)],
        "random_state": [Interval(int, 0, None)],
    }

    item_idf_: npt.NDArray[np.float64]
    mean_length_: float

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 0.5,
        iterations: int = 15,
        weighting: Literal["bm25", "confidence"] = "bm25",
        half_life_days: float | None = None,
        num_threads: int = 1,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.weighting = weighting
        self.half_life_days = half_life_days
        self.num_threads = num_threads
        self.random_state = random_state

    def _history(self, interactions: Interactions) -> sp.csr_matrix:
        history = interactions.matrix(half_life_days=self.half_life_days)
        users_of_item = np.bincount(history.indices, minlength=self.n_items_)
        self.item_idf_ = np.maximum(
            np.log(max(self.n_users_, 1)) - np.log1p(users_of_item), 0.0
        )
        self.mean_length_ = float(np.asarray(history.sum(axis=1)).mean()) or 1.0
        return history

    def _confidence(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """``c_ui = 1 + alpha * f(r_ui)`` on the stored entries of ``history``."""
        weights = history.data.astype(np.float64)
        if self.weighting == "bm25":
            length = np.asarray(history.sum(axis=1), dtype=np.float64).ravel()
            norm = (1.0 - _BM25_B) + _BM25_B * length / self.mean_length_
            rows = np.repeat(np.arange(history.shape[0]), np.diff(history.indptr))
            weights = (
                weights * (_BM25_K1 + 1.0) / (_BM25_K1 * norm[rows] + weights)
                * self.item_idf_[history.indices]
            )
        return sp.csr_matrix(
            (1.0 + self.alpha * weights, history.indices, history.indptr),
            shape=history.shape,
            dtype=np.float32,
        )

    def _model(self) -> AlternatingLeastSquares:
        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=1.0,
            dtype=np.float32,
            iterations=self.iterations,
            num_threads=self.num_threads,
            random_state=self.random_state,
        )

    def _train(self, history: sp.csr_matrix) -> tuple[Factors, Factors]:
        model = self._model()
        model.fit(self._confidence(history), show_progress=False)
        return model.user_factors, model.item_factors

    def recalculate_user(self, history: sp.csr_matrix) -> Factors:
        """Factors for each row of ``history`` (histories x items weights, as
        :meth:`Interactions.matrix` builds), solved against the fitted item factors: a user's
        new interactions update their recommendations without retraining."""
        self._check_fitted("item_factors_")
        history = check_history(history, self.n_items_)
        model = self._fold_in_model()
        with threadpool_limits(limits=1, user_api="blas"):
            factors = model.recalculate_user(
                np.arange(history.shape[0]), self._confidence(history)
            )
        return np.ascontiguousarray(factors, dtype=np.float32)

    def _fold_in_model(self) -> AlternatingLeastSquares:
        """An ``implicit`` model over the fitted item factors, kept so that its ``Y^T Y`` is
        computed once, not on every request."""
        model: AlternatingLeastSquares | None = self.__dict__.get("_fold_in")
        if model is None or model.item_factors is not self.item_factors_:
            with threadpool_limits(limits=1, user_api="blas"):
                model = self._model()
                model.item_factors = self.item_factors_
                model.YtY  # noqa: B018 - computed once here, under the BLAS limit
            self._fold_in = model
        return model

    def recommend_history(
        self, history: sp.csr_matrix, n: int, *, exclude: sp.csr_matrix | None = None
    ) -> Candidates:
        """The ``n`` best items for histories given now, through :meth:`recalculate_user`.

        ``Candidates.user`` is the row in ``history``; ``exclude``, when given, has its shape.
        """
        self._check_fitted("item_factors_")
        self._check_n(n)
        factors = self.recalculate_user(history)
        history = check_history(history, self.n_items_)
        rows = np.arange(history.shape[0], dtype=np.int64)
        excluded = exclusion_rows(exclude, rows, history.shape)
        return self._rank(rows, factors, history, n, excluded)

    def _anchors(
        self, history: sp.csr_matrix, factors: Factors, items: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.int32]:
        """The paper's explanation, section 5: the history item ``j`` maximising ``s_ij``."""
        anchors = np.full(items.shape, -1, dtype=np.int32)
        confidence = self._confidence(history)
        y = self.item_factors_
        gram = self._fold_in_model().YtY + self.regularization * np.eye(y.shape[1])
        for row in range(items.shape[0]):
            start, end = confidence.indptr[row], confidence.indptr[row + 1]
            wanted = items[row] >= 0
            if start == end or not wanted.any():
                continue
            bought = confidence.indices[start:end]
            c = confidence.data[start:end].astype(np.float64)
            y_bought = y[bought].astype(np.float64)
            weights = gram + (y_bought.T * (c - 1.0)) @ y_bought
            solved = np.linalg.solve(weights, y[items[row][wanted]].T.astype(np.float64))
            share = c[:, None] * (y_bought @ solved)
            best = np.argmax(share, axis=0)
            found = share[best, np.arange(share.shape[1])] > 0
            anchors[row, np.flatnonzero(wanted)[found]] = bought[best[found]]
        return anchors
