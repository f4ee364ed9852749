"""The BG/NBD model of Fader, Hardie & Lee (2005)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from growthloop.predict.clv._base import FloatArray, NegLogLik, wsum
from growthloop.predict.clv._transactions import (
    ArrayLike,
    TransactionModel,
    check_horizon,
    history_for_prediction,
)

__all__ = ["BetaGeoModel"]


def _bgnbd_nll(columns: Sequence[FloatArray], weights: FloatArray) -> NegLogLik:
    """Negative log-likelihood (equations (6)-(7) of Fader, Hardie & Lee 2005) and gradient.

    Per customer, with ``A = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x) / B(a, b)``::

        L = A * [ (alpha+T)^-(r+x) + [x > 0] a / (b+x-1) * (alpha+t_x)^-(r+x) ]

    The terms that depend on ``x`` only are computed once per distinct ``x``; the bracket
    uses log-sum-exp.
    """
    x, t_x, big_t = columns
    x_unique, inverse = np.unique(x, return_inverse=True)
    w_by_x = np.bincount(inverse, weights=weights)
    w_total = float(weights.sum())
    repeat = x > 0
    x_rep, t_x_rep, t_rep, w_rep = x[repeat], t_x[repeat], big_t[repeat], weights[repeat]
    x_index_rep = inverse[repeat]
    t_none, w_none = big_t[~repeat], weights[~repeat]
    w_x_rep = w_rep * x_rep

    def nll(theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, a, b = (float(v) for v in theta)
        per_x = (
            gammaln(r + x_unique) - gammaln(r) + r * np.log(alpha)
            + gammaln(a + b) + gammaln(b + x_unique) - gammaln(b) - gammaln(a + b + x_unique)
        )
        # log(a / (b+x-1)) per distinct x (only used for x > 0)
        log_a_over = np.log(a) - np.log(np.maximum(b + x_unique - 1.0, 1e-300))
        log_alpha_t_none = np.log(alpha + t_none)
        log_alpha_t = np.log(alpha + t_rep)
        log_alpha_tx = np.log(alpha + t_x_rep)
        rx = r + x_rep
        # bracket = log(exp(a3) + exp(a4)) = a3 + log1p(exp(d)), d = a4 - a3
        d = log_a_over[x_index_rep] + rx * (log_alpha_t - log_alpha_tx)
        e = np.exp(np.minimum(d, 700.0))
        softplus = np.where(d > 30.0, d, np.log1p(e))
        ll = (
            wsum(w_by_x, per_x) - r * wsum(w_none, log_alpha_t_none)
            - wsum(w_rep, rx * log_alpha_t) + wsum(w_rep, softplus)
        )

        share4 = e / (1.0 + e)
        share4 = np.where(d > 30.0, 1.0, share4)
        w_share4 = w_rep * share4
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + x_unique)
        w4_by_x = np.bincount(x_index_rep, weights=w_share4, minlength=len(x_unique))
        mixed_log = log_alpha_t + share4 * (log_alpha_tx - log_alpha_t)
        inv_t = 1.0 / (alpha + t_rep)
        mixed_inv = inv_t + share4 * (1.0 / (alpha + t_x_rep) - inv_t)
        d_r = (
            wsum(w_by_x, digamma(r + x_unique) - digamma(r)) + w_total * np.log(alpha)
            - wsum(w_none, log_alpha_t_none) - wsum(w_rep, mixed_log)
        )
        d_alpha = (
            w_total * r / alpha - r * wsum(w_none, 1.0 / (alpha + t_none))
            - r * wsum(w_rep, mixed_inv) - wsum(w_x_rep, mixed_inv)
        )
        d_a = wsum(w_by_x, psi_ab - psi_abx) + float(w4_by_x.sum()) / a
        d_b = wsum(w_by_x, psi_ab + digamma(b + x_unique) - digamma(b) - psi_abx) - wsum(
            w4_by_x, 1.0 / np.maximum(b + x_unique - 1.0, 1e-300)
        )
        return -float(ll), -np.array([d_r, d_alpha, d_a, d_b])

    return nll


class BetaGeoModel(TransactionModel):
    """BG/NBD ("beta-geometric/NBD") model of repeat purchases with dropout.

    Assumptions (Fader, Hardie & Lee 2005, section 3):

    1. While active, a customer buys as a Poisson process with rate ``lambda``.
    2. ``lambda`` varies across customers as ``Gamma(r, alpha)`` (shape ``r``, rate ``alpha``).
    3. After every repeat purchase a customer drops out for good with probability ``p``.
    4. ``p`` varies across customers as ``Beta(a, b)``.
    5. ``lambda`` and ``p`` are independent across customers.

    Time is in whatever unit ``recency`` and ``T`` use (the paper uses weeks); ``alpha``
    scales with it.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters, added to the mean negative log-likelihood as
        ``penalizer * (r**2 + alpha**2 + a**2 + b**2)`` (lifetimes' ``penalizer_coef``).
    max_iter
        Iteration limit of the optimiser, per starting point.
    tol
        Gradient tolerance of the optimiser (on the mean negative log-likelihood in log
        parameters).

    Attributes
    ----------
    params_ : dict[str, float]
        ``r``, ``alpha``, ``a``, ``b``.
    std_errors_ : dict[str, float]
        Standard errors from the inverse Hessian of the negative log-likelihood.
    covariance_ : numpy.ndarray
        Their covariance matrix.
    log_likelihood_ : float
        Maximised log-likelihood (equation (7), without the penalty).
    n_customers_ : float
        Customers fitted (sum of the weights).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way:
    an alternative to the Pareto/NBD model. Marketing Science 24(2), 275-284.

    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) using the BG/NBD
    model. http://brucehardie.com/notes/021/

    Examples
    --------
    >>> from growthloop.predict.clv import BetaGeoModel, simulate_beta_geo
    >>> data = simulate_beta_geo(5000, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=1)
    >>> model = BetaGeoModel().fit(data["frequency"], data["recency"], data["T"])
    >>> sorted(model.params_)
    ['a', 'alpha', 'b', 'r']
    >>> float(model.probability_alive(0, 0, 39.0)[()])
    1.0
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    @staticmethod
    def _make_nll(columns: Sequence[FloatArray], weights: FloatArray) -> NegLogLik:
        return _bgnbd_nll(columns, weights)

    def _starting_points(
        self, frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray
    ) -> list[FloatArray]:
        rate = max(wsum(weights, frequency) / max(wsum(weights, T), 1e-12), 1e-6)
        return [
            np.array([1.0, 1.0 / rate, 1.0, 1.0]),
            np.array([0.5, 0.5 / rate, 0.5, 2.0]),
            np.array([2.0, 2.0 / rate, 2.0, 5.0]),
        ]

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Probability that each customer is alive at ``T``.

        Implements the expression of Fader, Hardie & Lee (2008), "Computing P(alive) using the
        BG/NBD model"::

            P(alive) = 1 / (1 + [x > 0] a / (b+x-1) * ((alpha+T) / (alpha+t_x))^(r+x))

        Customers without repeat purchases are alive with probability 1 (dropout happens
        only after a purchase).

        Parameters
        ----------
        frequency, recency, T
            Each customer's history (scalars or arrays that broadcast).

        Returns
        -------
        numpy.ndarray
            Probabilities in [0, 1].
        """
        r, alpha, a, b = self._check_fitted()
        x, t_x, big_t = history_for_prediction(frequency, recency, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_odds_dead = (
                np.log(a) - np.log(np.where(x > 0, b + x - 1.0, 1.0))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
            )
        return np.asarray(np.where(x > 0, expit(-log_odds_dead), 1.0), dtype=np.float64)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected purchases in ``(T, T + t]`` given each customer's history.

        Equation (10) of Fader, Hardie & Lee (2005)::

            E[Y(t) | x, t_x, T] =
                (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)
                                       * 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))]
                / (1 + [x > 0] a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x))

        The expression needs ``a != 1``.

        Parameters
        ----------
        t
            Length of the forecast period (same time unit as ``T``); broadcasts with the
            history.
        frequency, recency, T
            Each customer's history.

        Returns
        -------
        numpy.ndarray
            Expected number of purchases.
        """
        r, alpha, a, b = self._check_fitted()
        horizon = check_horizon("t", t)
        x, t_x, big_t = history_for_prediction(frequency, recency, T)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            z = horizon / (alpha + big_t + horizon)
            log_ratio = (r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + horizon))
            bracket = 1.0 - np.exp(log_ratio) * hyp2f1(r + x, b + x, a + b + x - 1.0, z)
            numerator = (a + b + x - 1.0) / (a - 1.0) * bracket
        return np.asarray(numerator * self.probability_alive(x, t_x, big_t), dtype=np.float64)

    def unconditional_expected_purchases(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases by time ``t`` after the first purchase.

        Equation (9) of Fader, Hardie & Lee (2005)::

            E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r * 2F1(r, b; a+b-1; t/(alpha+t))]

        Parameters
        ----------
        t
            Time since the first purchase (scalar or array).

        Returns
        -------
        numpy.ndarray
            Expected number of repeat purchases.
        """
        r, alpha, a, b = self._check_fitted()
        horizon = check_horizon("t", t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            power = np.exp(r * (np.log(alpha) - np.log(alpha + horizon)))
            value = (a + b - 1.0) / (a - 1.0) * (
                1.0 - power * hyp2f1(r, b, a + b - 1.0, horizon / (alpha + horizon))
            )
        return np.asarray(value, dtype=np.float64)
