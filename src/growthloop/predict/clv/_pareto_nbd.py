"""The Pareto/NBD model of Schmittlein, Morrison & Colombo (1987)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from scipy.special import gammaln, hyp2f1

from growthloop.predict.clv._base import FloatArray, NegLogLik, wsum
from growthloop.predict.clv._transactions import (
    ArrayLike,
    TransactionModel,
    check_horizon,
    history_for_prediction,
)

__all__ = ["ParetoNBDModel"]


def _log_a0_term(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t: FloatArray
) -> FloatArray:
    """``log( 2F1(...) / (max(alpha, beta) + t)^(r+s+x) )`` of equations (19)-(20).

    Fader & Hardie (2005) write ``A0`` as a difference of two such terms (at ``t_x`` and
    ``T``), with ``2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t))`` when ``alpha >= beta`` and
    ``2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+t))`` otherwise. Those series diverge as the
    argument nears 1, so Euler's transformation ``2F1(a, b; c; z) = (1-z)^(c-a-b)
    2F1(c-a, c-b; c; z)`` is applied first, which gives, in logs::

        alpha >= beta: -(r+x) log(alpha+t) - s log(beta+t)
                       + log 2F1(1, r+x; r+s+x+1; (alpha-beta)/(alpha+t))
        alpha <  beta: (1-r-x) log(alpha+t) - (1+s) log(beta+t)
                       + log 2F1(1, s+1; r+s+x+1; (beta-alpha)/(beta+t))
    """
    c = r + s + x + 1.0
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        return np.asarray(
            -(r + x) * np.log(alpha + t) - s * np.log(beta + t) + np.log(hyp2f1(1.0, r + x, c, z)),
            dtype=np.float64,
        )
    z = (beta - alpha) / (beta + t)
    return np.asarray(
        (1.0 - r - x) * np.log(alpha + t) - (1.0 + s) * np.log(beta + t)
        + np.log(hyp2f1(1.0, s + 1.0, c, z)),
        dtype=np.float64,
    )


def _log_likelihood_parts(
    theta: FloatArray, x: FloatArray, t_x: FloatArray, big_t: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(log A1, log of the alive term, log of the dropout term)`` per customer.

    Equation (18) of Fader & Hardie (2005)::

        L = Gamma(r+x) alpha^r beta^s / Gamma(r)
            * [ 1 / ((alpha+T)^(r+x) (beta+T)^s) + s / (r+s+x) * A0 ]

    with ``A0`` the difference of :func:`_log_a0_term` at ``t_x`` and ``T``, taken in log space
    (``log A0 = l(t_x) + log1p(-exp(l(T) - l(t_x)))``).
    """
    r, alpha, s, beta = (float(v) for v in theta)
    log_a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    log_alive = -(r + x) * np.log(alpha + big_t) - s * np.log(beta + big_t)
    at_tx = _log_a0_term(r, alpha, s, beta, x, t_x)
    at_t = _log_a0_term(r, alpha, s, beta, x, big_t)
    log_a0 = at_tx + np.log1p(-np.exp(np.minimum(at_t - at_tx, 0.0)))
    log_dropout = np.log(s) - np.log(r + s + x) + log_a0
    return log_a1, log_alive, log_dropout


def _pareto_nbd_nll(columns: Sequence[FloatArray], weights: FloatArray) -> NegLogLik:
    x, t_x, big_t = columns

    def nll(theta: FloatArray) -> tuple[float, None]:
        with np.errstate(all="ignore"):
            log_a1, log_alive, log_dropout = _log_likelihood_parts(theta, x, t_x, big_t)
            ll = wsum(weights, log_a1 + np.logaddexp(log_alive, log_dropout))
        return -float(ll), None

    return nll


def _one_minus_power_over(u: FloatArray, c: float) -> FloatArray:
    """``(1 - u**c) / c``, with its limit ``-log(u)`` at ``c = 0``."""
    log_u = np.log(u)
    if abs(c) < 1e-10:
        return np.asarray(-log_u, dtype=np.float64)
    return np.asarray(-np.expm1(c * log_u) / c, dtype=np.float64)


class ParetoNBDModel(TransactionModel):
    """Pareto/NBD model of repeat purchases with unobserved dropout.

    Assumptions (Schmittlein, Morrison & Colombo 1987):

    1. While alive, a customer buys as a Poisson process with rate ``lambda``.
    2. A customer's unobserved lifetime is exponential with rate ``mu`` (dropout can happen at
       any time, not only after a purchase as in BG/NBD).
    3. ``lambda ~ Gamma(r, alpha)`` and ``mu ~ Gamma(s, beta)`` across customers,
       independently.

    The likelihood follows Fader & Hardie (2005), equations (18)-(20), computed in log space
    with Euler-transformed hypergeometric functions so it stays finite for both
    ``alpha >= beta`` and ``alpha < beta``. It has no analytic gradient, so the optimiser
    uses finite differences; distinct ``(frequency, recency, T)`` rows are fitted once each.

    Parameters
    ----------
    penalizer
        L2 penalty ``penalizer * (r**2 + alpha**2 + s**2 + beta**2)`` added to the mean
        negative log-likelihood.
    max_iter
        Iteration limit of the optimiser, per starting point.
    tol
        Gradient tolerance of the optimiser.

    Attributes
    ----------
    params_ : dict[str, float]
        ``r``, ``alpha``, ``s``, ``beta``.
    std_errors_, covariance_, log_likelihood_, n_customers_
        As for :class:`BetaGeoModel`.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who
    are they and what will they do next? Management Science 33(1), 1-24.

    Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions. http://brucehardie.com/notes/009/

    Examples
    --------
    >>> from growthloop.predict.clv import ParetoNBDModel, simulate_pareto_nbd
    >>> data = simulate_pareto_nbd(3000, r=0.5, alpha=10.0, s=0.6, beta=12.0, T=39.0, seed=1)
    >>> model = ParetoNBDModel().fit(data["frequency"], data["recency"], data["T"])
    >>> sorted(model.params_)
    ['alpha', 'beta', 'r', 's']
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _analytic_gradient: ClassVar[bool] = False
    _screen_rows: ClassVar[int] = 3_000

    @staticmethod
    def _make_nll(columns: Sequence[FloatArray], weights: FloatArray) -> NegLogLik:
        return _pareto_nbd_nll(columns, weights)

    def _starting_points(
        self, frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray
    ) -> list[FloatArray]:
        total_weight = float(weights.sum())
        rate = max(wsum(weights, frequency) / max(wsum(weights, T), 1e-12), 1e-6)
        mean_t = max(wsum(weights, T) / total_weight, 1e-6)
        return [
            np.array([1.0, 1.0 / rate, 1.0, mean_t]),
            np.array([0.5, 0.5 / rate, 0.5, mean_t]),
            np.array([2.0, 2.0 / rate, 2.0, 4.0 * mean_t]),
        ]

    def probability_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Probability that each customer is alive at ``T``.

        Fader & Hardie (2005), section 5.1, equations (36)-(37) (Schmittlein et al. 1987,
        equation (11))::

            P(alive) = 1 / (1 + s/(r+s+x) * (alpha+T)^(r+x) (beta+T)^s * A0)

        Parameters
        ----------
        frequency, recency, T
            Each customer's history (scalars or arrays that broadcast).

        Returns
        -------
        numpy.ndarray
            Probabilities in [0, 1].
        """
        theta = self._check_fitted()
        x, t_x, big_t = history_for_prediction(frequency, recency, T)
        with np.errstate(all="ignore"):
            _, log_alive, log_dropout = _log_likelihood_parts(theta, x, t_x, big_t)
            value = np.exp(log_alive - np.logaddexp(log_alive, log_dropout))
        return np.asarray(value, dtype=np.float64)

    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected purchases in ``(T, T + t]`` given each customer's history.

        Fader & Hardie (2005), equation (41) (Schmittlein et al. 1987, equation (22))::

            E[Y(t) | x, t_x, T] = (r+x)(beta+T) / ((alpha+T)(s-1))
                                  * [1 - ((beta+T)/(beta+T+t))^(s-1)] * P(alive)

        evaluated with its limit ``(r+x)(beta+T)/(alpha+T) log((beta+T+t)/(beta+T))`` at
        ``s = 1``.

        Parameters
        ----------
        t
            Length of the forecast period; broadcasts with the history.
        frequency, recency, T
            Each customer's history.

        Returns
        -------
        numpy.ndarray
            Expected number of purchases.
        """
        r, alpha, s, beta = self._check_fitted()
        horizon = check_horizon("t", t)
        x, t_x, big_t = history_for_prediction(frequency, recency, T)
        factor = _one_minus_power_over((beta + big_t) / (beta + big_t + horizon), s - 1.0)
        expected_if_alive = (r + x) * (beta + big_t) / (alpha + big_t) * factor
        return np.asarray(
            expected_if_alive * self.probability_alive(x, t_x, big_t), dtype=np.float64
        )

    def unconditional_expected_purchases(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases by time ``t`` after the first purchase.

        Fader & Hardie (2005), equation (27)::

            E[X(t)] = r beta / (alpha (s-1)) * [1 - (beta/(beta+t))^(s-1)]

        Parameters
        ----------
        t
            Time since the first purchase (scalar or array).

        Returns
        -------
        numpy.ndarray
            Expected number of repeat purchases.
        """
        r, alpha, s, beta = self._check_fitted()
        horizon = check_horizon("t", t)
        factor = _one_minus_power_over(beta / (beta + horizon), s - 1.0)
        return np.asarray(r * beta / alpha * factor, dtype=np.float64)
