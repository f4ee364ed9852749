"""The common part of the purchase-count models (BG/NBD and Pareto/NBD).

Both describe a customer by ``frequency`` (repeat purchases in the calibration period),
``recency`` (time of the last repeat purchase, from the first purchase) and ``T`` (time from the
first purchase to the end of the calibration period), all in one time unit.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import ClassVar, Self, TypeAlias

import numpy as np
import numpy.typing as npt

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
)

__all__ = ["TransactionModel"]

#: Anything numpy reads as an array of numbers (lists, arrays, pandas Series, scalars).
ArrayLike: TypeAlias = npt.ArrayLike


def _check_consistent(frequency: FloatArray, recency: FloatArray, T: FloatArray) -> None:
    """frequency whole, recency <= T, recency == 0 without repeat purchases."""
    not_whole = frequency != np.round(frequency)
    if not_whole.any():
        i = int(np.argmax(not_whole))
        raise ModelError(
            f"frequency[{i}] = {float(frequency[i])!r} is not a whole number: frequency counts "
            "repeat purchases; pass integer counts (see summary_from_transactions)"
        )
    late = recency > T * (1 + 1e-9) + 1e-12
    if late.any():
        i = int(np.argmax(late))
        raise ModelError(
            f"recency[{i}] = {float(recency[i])!r} is greater than T[{i}] = {float(T[i])!r}: the "
            "last purchase cannot come after the end of the calibration period; recompute "
            "recency and T with the same calibration end and time unit"
        )
    orphan = (frequency == 0) & (recency > 0)
    if orphan.any():
        i = int(np.argmax(orphan))
        raise ModelError(
            f"recency[{i}] = {float(recency[i])!r} with frequency[{i}] = 0: a customer without "
            "repeat purchases has recency 0; recompute recency from the repeat purchases only"
        )


def check_history(
    frequency: object, recency: object, T: object
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated one-dimensional (frequency, recency, T) for fitting."""
    x = as_vector("frequency", frequency)
    t_x = as_vector("recency", recency)
    big_t = as_vector("T", T)
    check_same_length(frequency=x, recency=t_x, T=big_t)
    for name, array in (("frequency", x), ("recency", t_x), ("T", big_t)):
        check_finite_nonnegative(name, array)
    _check_consistent(x, t_x, big_t)
    return x, t_x, big_t


def history_for_prediction(
    frequency: object, recency: object, T: object
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validated (frequency, recency, T) broadcast against each other; scalars allowed."""
    arrays = []
    for name, values in (("frequency", frequency), ("recency", recency), ("T", T)):
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise ModelError(f"{name} must be numbers; pass a numeric array or Series") from None
        check_finite_nonnegative(name, np.atleast_1d(array))
        arrays.append(array)
    try:
        x, t_x, big_t = np.broadcast_arrays(*arrays)
    except ValueError:
        raise ModelError(
            "frequency, recency and T have shapes that do not match; pass one value per customer"
        ) from None
    _check_consistent(np.atleast_1d(x), np.atleast_1d(t_x), np.atleast_1d(big_t))
    return x, t_x, big_t


def check_horizon(name: str, t: object) -> FloatArray:
    """A finite, non-negative time (or array of times)."""
    try:
        array = np.asarray(t, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"{name} must be a number of time units; got {t!r}") from None
    check_finite_nonnegative(name, np.atleast_1d(array))
    return array


class TransactionModel(BaseModel, ABC):
    """Base of the models of purchase counts with unobserved dropout ("buy till you die").

    Subclasses implement the likelihood and the paper's expressions; this class validates the
    input, fits and offers the expressions that both models share.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    #: Fewer repeat buyers than this cannot identify the dropout process.
    _min_repeat_buyers: ClassVar[int] = 1

    def __init__(self, *, penalizer: float = 0.0, max_iter: int = 2000, tol: float = 1e-6) -> None:
        self.penalizer = penalizer
        self.max_iter = max_iter
        self.tol = tol

    # --- implemented by each model ----------------------------------------------------------
    @staticmethod
    @abstractmethod
    def _make_nll(columns: Sequence[FloatArray], weights: FloatArray) -> NegLogLik:
        """The weighted negative log-likelihood (and gradient) in log-parameters."""

    @abstractmethod
    def _starting_points(
        self, frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray
    ) -> list[FloatArray]:
        """Starting points (log-parameters) for the optimiser."""

    @abstractmethod
    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
                          ) -> FloatArray:
        """Probability that each customer is still alive at the end of the calibration period."""

    @abstractmethod
    def expected_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Expected purchases in the next ``t`` time units, given each customer's history."""

    @abstractmethod
    def unconditional_expected_purchases(self, t: ArrayLike) -> FloatArray:
        """Expected repeat purchases by time ``t`` after a customer's first purchase."""

    # --- fitting -----------------------------------------------------------------------------
    def fit(
        self,
        frequency: ArrayLike,
        recency: ArrayLike,
        T: ArrayLike,
        *,
        weights: ArrayLike | None = None,
        initial_params: Mapping[str, float] | None = None,
    ) -> Self:
        """Fit the model by maximum likelihood.

        Parameters
        ----------
        frequency
            Repeat purchases of each customer in the calibration period (whole numbers).
        recency
            Time from the first purchase to the last repeat purchase (0 without repeat
            purchases).
        T
            Time from the first purchase to the end of the calibration period.
        weights
            How many identical customers each row stands for (default 1). Identical rows are
            collapsed automatically, so passing grouped data is optional.
        initial_params
            Starting values by paper symbol (replaces the default starting points).

        Returns
        -------
        self
            Fitted: ``params_``, ``std_errors_``, ``covariance_``, ``log_likelihood_``,
            ``n_customers_`` are set.

        Raises
        ------
        ModelError
            Invalid hyperparameters or input, or too few repeat buyers.
        ConvergenceError
            The optimiser failed from every starting point.
        """
        self._validate_hyperparameters()
        x, t_x, big_t = check_history(frequency, recency, T)
        w = check_weights(weights, len(x))
        repeat_buyers = float(w[x > 0].sum())
        if repeat_buyers < self._min_repeat_buyers:
            raise ModelError(
                f"{type(self).__name__} needs at least {self._min_repeat_buyers} repeat buyer(s) "
                f"(customers with frequency > 0); got {repeat_buyers:g} among {w.sum():g} "
                "customers; use a longer calibration period or more customers"
            )
        starts = self._starting_points(x, t_x, big_t, w)
        columns, w = compress([x, t_x, big_t], w)
        fit = self._maximise(self._make_nll, columns, w, starts, initial_params)
        self._set_fit(fit)
        return self

    # --- shared predictions ------------------------------------------------------------------
    def next_purchase_time(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> FloatArray:
        """Median time from the end of the calibration period to the next purchase, if alive.

        Definition: for a customer who is alive at ``T`` and stays alive until their next
        purchase, the purchase rate has the posterior ``lambda ~ Gamma(r + x, alpha + T)`` (the
        alive branch of the likelihood, equation (6) of Fader, Hardie & Lee 2005 for BG/NBD;
        Schmittlein, Morrison & Colombo 1987 for Pareto/NBD), so the waiting time ``w`` to the
        next purchase has the Lomax survival ``((alpha + T) / (alpha + T + w)) ** (r + x)`` and
        the median

            (alpha + T) * (2 ** (1 / (r + x)) - 1).

        Under BG/NBD an alive customer can only drop out right after a purchase, so the
        condition "stays alive until the next purchase" always holds; under Pareto/NBD it
        ignores dropout before the next purchase. The expected next purchase *date* is the
        calibration end plus this time; weigh it by :meth:`probability_alive`.

        Parameters
        ----------
        frequency, recency, T
            Each customer's history, in the model's time unit.

        Returns
        -------
        numpy.ndarray
            Median waiting time in the model's time unit.
        """
        theta = self._check_fitted()
        r, alpha = theta[0], theta[1]
        x, _, big_t = history_for_prediction(frequency, recency, T)
        return np.asarray((alpha + big_t) * np.expm1(math.log(2.0) / (r + x)), dtype=np.float64)

    def expected_cumulative_purchases(
        self, times: ArrayLike, first_purchase_times: ArrayLike
    ) -> FloatArray:
        """Expected cumulative repeat purchases of a cohort, for the tracking plots of the papers.

        ``sum_i E[X(t - s_i)]`` over customers ``i`` whose first purchase was at ``s_i``
        (``E[X(t)]`` from :meth:`unconditional_expected_purchases`; Figure 2 of Fader, Hardie &
        Lee 2005 is this sum week by week).

        Parameters
        ----------
        times
            Times at which to evaluate the cumulative total (same origin as
            ``first_purchase_times``).
        first_purchase_times
            Time of each customer's first purchase.

        Returns
        -------
        numpy.ndarray
            One expected total per entry of ``times``.
        """
        self._check_fitted()
        t = np.atleast_1d(check_horizon("times", times))
        starts, counts = np.unique(
            np.atleast_1d(check_horizon("first_purchase_times", first_purchase_times)),
            return_counts=True,
        )
        elapsed = np.clip(t[:, None] - starts[None, :], 0.0, None)
        expected = self.unconditional_expected_purchases(elapsed)
        return np.asarray(expected @ counts.astype(np.float64), dtype=np.float64)
