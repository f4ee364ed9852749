"""The Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005; Fader & Hardie 2013)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import ClassVar, Self

import numpy as np
from scipy.special import digamma, gammaln

from growthloop.errors import ModelError
from growthloop.predict.clv._base import (
    BaseModel,
    FloatArray,
    NegLogLik,
    as_vector,
    check_finite_nonnegative,
    check_same_length,
    check_weights,
    compress,
    wsum,
)
from growthloop.predict.clv._transactions import (
    ArrayLike,
    TransactionModel,
    check_horizon,
    history_for_prediction,
)

__all__ = ["GammaGammaModel"]


def _gamma_gamma_nll(columns: Sequence[FloatArray], weights: FloatArray) -> NegLogLik:
    """Negative log-likelihood (equation (1a) of Fader & Hardie 2013) and its gradient.

    The density of a customer's mean spend ``m`` over ``x`` repeat purchases::

        f(m | p, q, gamma, x) = Gamma(px+q) / (Gamma(px) Gamma(q))
                                * gamma^q m^(px-1) x^(px) / (gamma + x m)^(px+q)
    """
    x, m = columns
    x_unique, inverse = np.unique(x, return_inverse=True)
    w_by_x = np.bincount(inverse, weights=weights)
    w_total = float(weights.sum())
    log_m = np.log(m)
    xm = x * m
    wx = weights * x
    sum_log_m = wsum(weights, log_m)
    sum_x_log_m = wsum(weights, x * log_m)
    log_x_unique = np.log(x_unique)

    def nll(theta: FloatArray) -> tuple[float, FloatArray]:
        p, q, gamma = (float(v) for v in theta)
        px = p * x_unique
        log_gamma = math.log(gamma)
        log_denominator = np.log(gamma + xm)
        per_x = gammaln(px + q) - gammaln(px) - gammaln(q) + px * log_x_unique
        sum_log_denominator = wsum(weights, log_denominator)
        sum_x_log_denominator = wsum(wx, log_denominator)
        ll = (
            wsum(w_by_x, per_x) + w_total * q * log_gamma + p * sum_x_log_m - sum_log_m
            - p * sum_x_log_denominator - q * sum_log_denominator
        )
        psi_pxq = digamma(px + q)
        d_p = (
            wsum(w_by_x, x_unique * (psi_pxq - digamma(px) + log_x_unique)) + sum_x_log_m
            - sum_x_log_denominator
        )
        d_q = wsum(w_by_x, psi_pxq - digamma(q)) + w_total * log_gamma - sum_log_denominator
        inverse_denominator = 1.0 / (gamma + xm)
        d_gamma = (
            w_total * q / gamma - p * wsum(wx, inverse_denominator)
            - q * wsum(weights, inverse_denominator)
        )
        return -float(ll), -np.array([d_p, d_q, d_gamma])

    return nll


class GammaGammaModel(BaseModel):
    """Gamma-Gamma model of the spend per purchase.

    Assumptions (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013):

    1. A customer's purchase amounts ``z_1, ..., z_x`` are ``Gamma(p, nu)`` (shape ``p``,
       rate ``nu``) around their own mean ``p / nu``.
    2. ``nu ~ Gamma(q, gamma)`` across customers.
    3. Spend per purchase is independent of the purchase process (check that frequency and
       monetary value are barely correlated before combining the two).

    The model is fitted on the *repeat* buyers' mean spend per repeat purchase
    (``monetary_value`` of :func:`summary_from_transactions`); customers with ``frequency == 0``
    carry no spend information and are left out of ``fit``.

    Parameters
    ----------
    penalizer
        L2 penalty ``penalizer * (p**2 + q**2 + gamma**2)`` added to the mean negative
        log-likelihood.
    max_iter
        Iteration limit of the optimiser, per starting point.
    tol
        Gradient tolerance of the optimiser.

    Attributes
    ----------
    params_ : dict[str, float]
        ``p``, ``q``, ``gamma``.
    std_errors_, covariance_, log_likelihood_, n_customers_
        As for :class:`BetaGeoModel` (``n_customers_`` counts the repeat buyers fitted).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
    customer base analysis. Journal of Marketing Research 42(4), 415-430.

    Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
    http://brucehardie.com/notes/025/

    Examples
    --------
    >>> import numpy as np
    >>> from growthloop.predict.clv import GammaGammaModel, simulate_gamma_gamma
    >>> frequency = np.random.default_rng(0).integers(1, 10, 2000)
    >>> spend = simulate_gamma_gamma(frequency, p=6.0, q=4.0, gamma=15.0, seed=0)
    >>> model = GammaGammaModel().fit(frequency, spend)
    >>> sorted(model.params_)
    ['gamma', 'p', 'q']
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "gamma")
    #: Fewer repeat buyers than this cannot identify three parameters.
    min_repeat_buyers: ClassVar[int] = 10

    def __init__(self, *, penalizer: float = 0.0, max_iter: int = 2000, tol: float = 1e-6) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter
        self.tol = tol

    def fit(
        self,
        frequency: ArrayLike,
        monetary_value: ArrayLike,
        *,
        weights: ArrayLike | None = None,
        initial_params: Mapping[str, float] | None = None,
    ) -> Self:
        """Fit the model by maximum likelihood on the repeat buyers.

        Parameters
        ----------
        frequency
            Repeat purchases of each customer; rows with 0 are skipped.
        monetary_value
            Mean spend per repeat purchase (> 0 for every repeat buyer).
        weights
            How many identical customers each row stands for (default 1).
        initial_params
            Starting values by paper symbol (``p``, ``q``, ``gamma``).

        Returns
        -------
        self

        Raises
        ------
        ModelError
            Invalid input or fewer than :attr:`min_repeat_buyers` repeat buyers.
        ConvergenceError
            The optimiser failed from every starting point.
        """
        self._validate_hyperparameters()
        x = as_vector("frequency", frequency)
        m = as_vector("monetary_value", monetary_value)
        check_same_length(frequency=x, monetary_value=m)
        check_finite_nonnegative("frequency", x)
        check_finite_nonnegative("monetary_value", m)
        w = check_weights(weights, len(x))
        repeat = x > 0
        not_positive = repeat & (m <= 0)
        if not_positive.any():
            i = int(np.argmax(not_positive))
            raise ModelError(
                f"monetary_value[{i}] = {float(m[i])!r} with frequency[{i}] = {float(x[i]):g}: a "
                "repeat buyer's mean spend must be > 0; drop customers whose purchases were all "
                "refunded"
            )
        repeat_buyers = float(w[repeat].sum())
        if repeat_buyers < self.min_repeat_buyers:
            raise ModelError(
                f"GammaGammaModel needs at least {self.min_repeat_buyers} repeat buyers "
                f"(frequency > 0) to fit; got {repeat_buyers:g}; use a longer calibration period "
                "or more customers"
            )
        columns, w = compress([x[repeat], m[repeat]], w[repeat])
        mean_spend = wsum(w, columns[1]) / float(w.sum())
        starts = [
            np.array([1.0, 2.0, mean_spend]),
            np.array([4.0, 3.0, 0.5 * mean_spend]),
            np.array([10.0, 5.0, 0.4 * mean_spend]),
        ]
        self._set_fit(self._maximise(_gamma_gamma_nll, columns, w, starts, initial_params))
        return self

    def expected_spend(self, frequency: ArrayLike, monetary_value: ArrayLike) -> FloatArray:
        """Expected spend per purchase of each customer, given their purchase history.

        Equation (5) of Fader & Hardie (2013) (equation (3) of Fader, Hardie & Lee 2005)::

            E[Z | p, q, gamma, m, x] = p (gamma + x m) / (p x + q - 1)

        a weighted mean of the population mean ``p gamma / (q - 1)`` and the customer's own
        mean ``m``. Customers with ``frequency == 0`` get the population mean, which is finite
        only when ``q > 1`` (otherwise ``inf``).

        Parameters
        ----------
        frequency
            Repeat purchases of each customer.
        monetary_value
            Mean spend per repeat purchase (ignored where ``frequency == 0``).

        Returns
        -------
        numpy.ndarray
            Expected spend per purchase.
        """
        p, q, gamma = self._check_fitted()
        try:
            x = np.asarray(frequency, dtype=np.float64)
            m = np.asarray(monetary_value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelError(
                "frequency and monetary_value must be numbers; pass numeric arrays"
            ) from None
        check_finite_nonnegative("frequency", np.atleast_1d(x))
        check_finite_nonnegative("monetary_value", np.atleast_1d(m))
        denominator = p * x + q - 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(
                denominator > 0, p * (gamma + x * np.where(x > 0, m, 0.0)) / denominator, np.inf
            )
        return np.asarray(value, dtype=np.float64)

    def customer_lifetime_value(
        self,
        transaction_model: TransactionModel,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        monetary_value: ArrayLike,
        *,
        horizon: float,
        discount_rate: float = 0.0,
        margin: float = 1.0,
        step: float = 1.0,
    ) -> FloatArray:
        """Discounted margin expected from each customer over the next ``horizon`` time units.

        The discrete sum of lifetimes' ``customer_lifetime_value`` (there is no closed form
        for a finite horizon; the DERT closed form of Fader, Hardie & Lee 2005 assumes
        continuous discounting over an infinite horizon under Pareto/NBD)::

            CLV = margin * E[Z | x, m] * sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1 + d)^k

        with ``t_k = min(k * step, horizon)``, ``E[Y(t)]`` the transaction model's conditional
        expected purchases (e.g. equation (10) of Fader, Hardie & Lee 2005 for BG/NBD),
        ``E[Z | x, m]`` equation (5) of Fader & Hardie (2013) and ``d`` the discount rate per
        ``step``. Purchases in step ``k`` are discounted as if they happened at its end.

        Parameters
        ----------
        transaction_model
            A fitted :class:`BetaGeoModel` or :class:`ParetoNBDModel` in the same time unit.
        frequency, recency, T
            Each customer's purchase history.
        monetary_value
            Mean spend per repeat purchase (0 allowed where ``frequency == 0``).
        horizon
            Length of the forecast, in the model's time unit.
        discount_rate
            Discount rate per ``step`` (e.g. 0.01 per month).
        margin
            Share of spend that is profit (1 gives revenue).
        step
            Length of one discounting period, in the model's time unit (e.g. 4.345 weeks for
            monthly discounting of a weekly model).

        Returns
        -------
        numpy.ndarray
            Discounted expected margin per customer.
        """
        self._check_fitted()
        if not isinstance(transaction_model, TransactionModel):
            raise ModelError(
                f"transaction_model must be a BetaGeoModel or ParetoNBDModel; got "
                f"{type(transaction_model).__name__}"
            )
        for name, value, low_ok in (
            ("horizon", horizon, False), ("step", step, False),
            ("discount_rate", discount_rate, True), ("margin", margin, True),
        ):
            number = float(check_horizon(name, value))
            if not low_ok and number <= 0:
                raise ModelError(f"{name} = {value!r} must be > 0; pass a positive length of time")
        x, t_x, big_t = history_for_prediction(frequency, recency, T)
        spend = self.expected_spend(x, monetary_value)
        n_steps = max(1, math.ceil(horizon / step - 1e-9))
        total = np.zeros(np.broadcast(x, t_x, big_t).shape)
        previous = np.zeros_like(total)
        for k in range(1, n_steps + 1):
            cumulative = transaction_model.expected_purchases(
                min(k * step, horizon), x, t_x, big_t
            )
            total = total + (cumulative - previous) / (1.0 + discount_rate) ** k
            previous = cumulative
        return np.asarray(margin * spend * total, dtype=np.float64)
