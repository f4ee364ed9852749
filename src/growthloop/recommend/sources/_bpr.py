"""Bayesian personalised ranking: factors trained to rank bought items above others."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from implicit.cpu.bpr import BayesianPersonalizedRanking

from growthloop.recommend._interactions import Interactions
from growthloop.recommend.sources._base import Constraint, Interval
from growthloop.recommend.sources._factorization import Factors, MatrixFactorization

__all__ = ["BPR"]


class BPR(MatrixFactorization):
    """BPR matrix factorisation (Rendle, Freudenthaler, Gantner & Schmidt-Thieme 2009, "BPR:
    Bayesian Personalized Ranking from Implicit Feedback", UAI), trained by ``implicit``.

    Maximises ``sum ln sigmoid(x_ui - x_uj)`` over triples of a user, an item they bought and one
    they did not (the paper's BPR-OPT, section 4.2) by stochastic gradient ascent (LearnBPR,
    section 4.3). Only whether a user interacted with an item counts, not how much. The item
    factors carry a bias in their last column, matched by a constant 1 in the user factors.
    Candidates have no anchor item. Parallel SGD is not repeatable, so keep ``num_threads=1``
    where results must repeat.

    Parameters
    ----------
    factors
        Number of latent factors (plus the bias column).
    learning_rate
        SGD step size.
    regularization
        L2 penalty.
    iterations
        Passes over the interactions.
    num_threads
        OpenMP threads of ``implicit``.
    random_state
        Seed of the initial factors and of the sampled triples.
    """

    name = "bpr"
    _parameter_constraints: ClassVar[dict[str, list[Constraint]]] = {
        "factors": [Interval(int, 1, None)],
        "learning_rate": [Interval(float, 0.0, None, closed="neither")],
        "regularization": [Interval(float, 0.0, None, closed="left")],
        "iterations": [Interval(int, 1, None)],
        "num_threads": [Interval(int, 1, None)],
        "random_state": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        factors: int = 64,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 100,
        num_threads: int = 1,
        random_state: int = 0,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.num_threads = num_threads
        self.random_state = random_state

    def _history(self, interactions: Interactions) -> sp.csr_matrix:
        history = interactions.matrix()
        history.data[:] = 1.0
        return history

    def _train(self, history: sp.csr_matrix) -> tuple[Factors, Factors]:
        model = BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            dtype=np.float32,
            iterations=self.iterations,
            num_threads=self.num_threads,
            random_state=self.random_state,
        )
        model.fit(history, show_progress=False)
        return model.user_factors, model.item_factors
