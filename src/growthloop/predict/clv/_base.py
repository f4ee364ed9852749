"""The shared base of the customer-base models: fitting by maximum likelihood.

Each model supplies its negative log-likelihood (with an analytic gradient where practical), its
starting points and its input checks; this base runs the optimiser, computes standard errors from
the Hessian, builds the summary table and (de)serialises the fitted parameters.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize

from growthloop._constraints import Interval
from growthloop.errors import ConvergenceError, ModelError, NotFittedError

__all__ = ["Interval"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]

#: Bounds of the optimiser on the log of every parameter (about 1e-9 .. 1e9).
_LOG_BOUND = 20.7
#: Objective value returned where the likelihood is not finite.
_FAILED = 1e10
_FORMAT_VERSION = 1


@dataclass
class Fit:
    """What the optimiser found (natural parameters, log-likelihood, covariance)."""

    params: FloatArray
    log_likelihood: float
    covariance: FloatArray
    n_customers: float


# Negative log-likelihood summed over customers at natural parameters theta, and its gradient
# with respect to theta (or None when the model has no analytic gradient).
NegLogLik = Callable[[FloatArray], tuple[float, FloatArray | None]]


def wsum(weights: npt.NDArray[Any], values: npt.NDArray[Any]) -> float:
    """``weights @ values`` without BLAS (whose threads are slow on a busy machine)."""
    return float(np.einsum("i,i->", weights, values))


def as_vector(name: str, values: object) -> FloatArray:
    """A one-dimensional float64 copy of ``values``; a clear error otherwise."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ModelError(
            f"{name} must be numbers; got values that cannot be read as numbers ({exc}); "
            "pass a numeric array or Series"
        ) from None
    if array.ndim != 1:
        raise ModelError(
            f"{name} must be one-dimensional; got shape {array.shape}; pass one value per customer"
        )
    return array


def check_finite_nonnegative(name: str, array: FloatArray) -> None:
    """Raise a ModelError naming the first NaN, infinite or negative value."""
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ModelError(
            f"{name}[{i}] = {float(array[i])!r} is not allowed: {name} must be finite and >= 0; "
            "drop or fix that customer's row"
        )


def check_same_length(**arrays: FloatArray) -> int:
    """The common length of ``arrays``; a ModelError naming them otherwise."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        described = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ModelError(
            f"the inputs have different lengths ({described}); pass one value per customer in each"
        )
    n = next(iter(lengths.values()))
    if n == 0:
        raise ModelError("no customers were given; pass at least one customer's history")
    return n


def check_weights(weights: object, n: int) -> FloatArray:
    """Customer weights (count of identical customers): ones when ``None``."""
    if weights is None:
        return np.ones(n)
    w = as_vector("weights", weights)
    if len(w) != n:
        raise ModelError(
            f"weights has {len(w)} values for {n} customers; pass one weight per customer"
        )
    check_finite_nonnegative("weights", w)
    if w.sum() <= 0:
        raise ModelError("the weights sum to 0; pass at least one positive weight")
    return w


def compress(columns: Sequence[FloatArray], weights: FloatArray) -> tuple[list[FloatArray],
                                                                          FloatArray]:
    """Collapse identical rows of ``columns`` into one row whose weight is the sum of theirs.

    Histories are usually recorded on a daily grid, so many customers share one
    ``(frequency, recency, T)``: the likelihood only needs each distinct row once.
    """
    keep = weights > 0
    frame = pd.DataFrame({f"c{i}": c[keep] for i, c in enumerate(columns)})
    frame["w"] = weights[keep]
    if len(frame) < 2:
        return [c[keep] for c in columns], weights[keep]
    grouped = frame.groupby([f"c{i}" for i in range(len(columns))], sort=False)["w"].sum()
    index = grouped.index
    out = [np.asarray(index.get_level_values(i), dtype=np.float64) for i in range(len(columns))]
    return out, np.asarray(grouped.to_numpy(), dtype=np.float64)


class BaseModel:
    """Estimator contract shared by the customer-base models.

    ``__init__`` of a subclass stores keyword hyperparameters only. Subclasses declare
    ``_param_names`` (paper symbols, in order) and ``_parameter_constraints``.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    #: Whether the negative log-likelihood returns an analytic gradient.
    _analytic_gradient: ClassVar[bool] = True
    #: Above this many distinct rows, starting points are screened on a sample of this many
    #: customers and only the best is refined on all of them.
    _screen_rows: ClassVar[int] = 20_000
    _parameter_constraints: ClassVar[dict[str, list[Interval]]] = {
        "penalizer": [Interval(float, 0.0, None, closed="left")],
        "max_iter": [Interval(int, 1, None, closed="left")],
        "tol": [Interval(float, 0.0, 1.0, closed="neither")],
    }

    penalizer: float
    max_iter: int
    tol: float

    params_: dict[str, float]
    std_errors_: dict[str, float]
    covariance_: FloatArray
    log_likelihood_: float
    n_customers_: float

    # --- scikit-learn style hyperparameters ------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values() if p.name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters, as scikit-learn's ``set_params``."""
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ModelError(
                    f"{name!r} is not a hyperparameter of {type(self).__name__}; "
                    f"use one of {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _validate_hyperparameters(self) -> None:
        for name, intervals in self._parameter_constraints.items():
            value = getattr(self, name)
            if not any(value in interval for interval in intervals):
                allowed = " or ".join(str(i) for i in intervals)
                raise ModelError(
                    f"{type(self).__name__}({name}={value!r}) is invalid: {name} must be "
                    f"{allowed}; pass a value in that range"
                )

    # --- fitted state ------------------------------------------------------------------------
    def _check_fitted(self) -> FloatArray:
        if not hasattr(self, "params_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator, or load fitted parameters "
                "with 'from_dict'."
            )
        return np.array([self.params_[k] for k in self._param_names])

    def _set_fit(self, fit: Fit) -> None:
        self.params_ = {k: float(v) for k, v in zip(self._param_names, fit.params, strict=True)}
        variance = np.diag(fit.covariance)
        self.std_errors_ = {
            k: float(math.sqrt(v)) if v >= 0 else math.nan
            for k, v in zip(self._param_names, variance, strict=True)
        }
        self.covariance_ = fit.covariance
        self.log_likelihood_ = float(fit.log_likelihood)
        self.n_customers_ = float(fit.n_customers)

    @property
    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95 % Wald intervals (estimate ± 1.96 se).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``parameter`` (the paper's symbols), columns ``estimate``,
            ``std_error``, ``lower_95``, ``upper_95``.
        """
        self._check_fitted()
        rows = []
        for name in self._param_names:
            estimate, se = self.params_[name], self.std_errors_[name]
            rows.append((name, estimate, se, estimate - 1.959964 * se, estimate + 1.959964 * se))
        frame = pd.DataFrame(
            rows, columns=["parameter", "estimate", "std_error", "lower_95", "upper_95"]
        )
        return frame.set_index("parameter")

    # --- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fitted model as JSON-able data (hyperparameters, parameters, covariance)."""
        self._check_fitted()
        return {
            "model": type(self).__name__,
            "format_version": _FORMAT_VERSION,
            "hyperparameters": self.get_params(),
            "params": dict(self.params_),
            "std_errors": {k: (None if math.isnan(v) else v) for k, v in self.std_errors_.items()},
            "covariance": [
                [None if not math.isfinite(v) else float(v) for v in row]
                for row in self.covariance_
            ],
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if data.get("model") != cls.__name__:
            raise ModelError(
                f"the data describes a {data.get('model')!r}, not a {cls.__name__}; "
                f"load it with {data.get('model')}.from_dict"
            )
        if data.get("format_version") != _FORMAT_VERSION:
            raise ModelError(
                f"format_version {data.get('format_version')!r} is not supported (expected "
                f"{_FORMAT_VERSION}); refit the model with this version of growthloop"
            )
        model = cls(**data["hyperparameters"])
        params = data["params"]
        missing = [k for k in cls._param_names if k not in params]
        if missing:
            raise ModelError(f"params lack {', '.join(missing)}; pass every parameter")
        covariance = np.array(
            [[math.nan if v is None else v for v in row] for row in data["covariance"]],
            dtype=np.float64,
        )
        model._set_fit(
            Fit(
                params=np.array([float(params[k]) for k in cls._param_names]),
                log_likelihood=float(data["log_likelihood"]),
                covariance=covariance,
                n_customers=float(data["n_customers"]),
            )
        )
        return model

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    # --- maximum likelihood ------------------------------------------------------------------
    def _maximise(
        self,
        make_nll: Callable[[Sequence[FloatArray], FloatArray], NegLogLik],
        columns: Sequence[FloatArray],
        weights: FloatArray,
        starts: Sequence[FloatArray],
        initial_params: Mapping[str, float] | None,
    ) -> Fit:
        """Maximise the (penalised) likelihood from several starting points.

        The optimiser (BFGS) works on the log of the parameters, within bounds, on the
        objective ``-LL / N + penalizer * sum(theta ** 2)`` (lifetimes' ``penalizer_coef``).
        The starts are screened with a loose tolerance (on a sample of customers when there
        are many distinct rows) and only the best is refined on all of them. Standard errors
        come from a numerical Hessian of ``-LL + N * penalizer * sum(theta ** 2)`` in the
        natural parameters.
        """
        name = type(self).__name__
        n_total = float(weights.sum())
        if initial_params is not None:
            unknown = set(initial_params) - set(self._param_names)
            if unknown:
                raise ModelError(
                    f"initial_params has unknown names {sorted(unknown)}; use "
                    f"{', '.join(self._param_names)}"
                )
            base = np.asarray(starts[0], dtype=np.float64).copy()
            for i, k in enumerate(self._param_names):
                if k in initial_params:
                    value = float(initial_params[k])
                    if not (math.isfinite(value) and value > 0):
                        raise ModelError(
                            f"initial_params[{k!r}] = {value!r} must be a positive number"
                        )
                    base[i] = value
            starts = [base]
        log_starts = [np.log(np.clip(s, 1e-8, 1e8)) for s in starts]

        full = make_nll(columns, weights)
        if len(log_starts) > 1:
            # Screen the starts with a loose tolerance (on a sample of customers when there
            # are many distinct rows), then refine the best one on all customers.
            sample, n_sample = full, n_total
            if len(weights) > self._screen_rows:
                rng = np.random.default_rng(0)
                picks = rng.choice(len(weights), size=self._screen_rows, p=weights / n_total)
                rows, counts = np.unique(picks, return_counts=True)
                sample = make_nll([c[rows] for c in columns], counts.astype(np.float64))
                n_sample = float(counts.sum())
            loose = max(float(self.tol), 1e-3)
            screened = [self._minimise(sample, n_sample, s, loose) for s in log_starts]
            finite = [r for r in screened if r[1] < _FAILED]
            if finite:
                log_starts = [min(finite, key=lambda r: r[1])[0]]

        results = [self._minimise(full, n_total, s) for s in log_starts]
        good = [r for r in results if r[2] and math.isfinite(r[1])]
        if not good:
            messages = "; ".join(sorted({r[3] for r in results}))
            raise ConvergenceError(
                f"{name} did not converge from {len(log_starts)} starting point(s) ({messages}); "
                "try a small penalizer (e.g. penalizer=0.001), more customers or repeat buyers, "
                "or other starting values with fit(..., initial_params={...})"
            )
        best_log, best_value, _, _ = min(good, key=lambda r: r[1])
        logger.debug("%s: mean negative log-likelihood %.6f over %g customers (%d rows)",
                     name, best_value, n_total, len(weights))
        at_bound = [
            self._param_names[i] for i, v in enumerate(best_log) if abs(v) > _LOG_BOUND - 1e-3
        ]
        best_log = np.clip(best_log, -_LOG_BOUND, _LOG_BOUND)
        if at_bound:
            raise ConvergenceError(
                f"{name}: parameter(s) {', '.join(at_bound)} ran to the optimiser's bound "
                f"({math.exp(-_LOG_BOUND):.0e} .. {math.exp(_LOG_BOUND):.0e}), so the data do not "
                "identify them; try a small penalizer (e.g. penalizer=0.001) or more customers"
            )
        theta = np.exp(best_log)
        nll_value, _ = full(theta)
        if not math.isfinite(nll_value):
            raise ConvergenceError(
                f"{name}: the log-likelihood is not finite at the optimum; try a small penalizer "
                "(e.g. penalizer=0.001), more customers, or fit(..., initial_params={...})"
            )
        covariance = self._covariance(full, theta, n_total)
        return Fit(
            params=theta,
            log_likelihood=-nll_value,
            covariance=covariance,
            n_customers=n_total,
        )

    def _minimise(
        self, nll: NegLogLik, n: float, log_start: FloatArray, gtol: float | None = None
    ) -> tuple[FloatArray, float, bool, str]:
        penalizer = float(self.penalizer)
        analytic = self._analytic_gradient

        def objective(phi: FloatArray) -> tuple[float, FloatArray] | float:
            theta = np.exp(np.clip(phi, -_LOG_BOUND, _LOG_BOUND))
            value, grad = nll(theta)
            value = value / n + penalizer * float(theta @ theta)
            if not math.isfinite(value):
                value = _FAILED
                if analytic:
                    return value, np.zeros_like(phi)
                return value
            if grad is None:
                return value
            g = (grad / n + 2.0 * penalizer * theta) * theta
            g[np.abs(phi) > _LOG_BOUND] = 0.0
            if not np.all(np.isfinite(g)):
                g = np.zeros_like(phi)
            return value, g

        # BFGS rather than L-BFGS-B: with a handful of parameters its dense update is cheap,
        # and L-BFGS-B's multithreaded BLAS calls are slow on a busy machine. The bounds are
        # enforced by clipping; a parameter that ends there is reported by the caller.
        with np.errstate(all="ignore"):
            result = minimize(
                objective,
                log_start,
                jac=analytic,
                method="BFGS",
                options={"maxiter": int(self.max_iter), "gtol": float(gtol or self.tol)},
            )
        value = float(result.fun)
        ok = bool(result.success) and value < _FAILED
        if not ok and math.isfinite(value) and value < _FAILED and result.jac is not None:
            # BFGS often stops on a line search at the optimum when the objective is flat to
            # machine precision; accept that when the gradient is small.
            ok = float(np.max(np.abs(np.asarray(result.jac)))) < 1e-4
        phi = np.clip(np.asarray(result.x, dtype=np.float64), -_LOG_BOUND - 1.0, _LOG_BOUND + 1.0)
        return phi, value, ok, str(result.message)

    def _covariance(self, nll: NegLogLik, theta: FloatArray, n: float) -> FloatArray:
        """Inverse of a central-difference Hessian of the penalised total negative LL.

        Raises ConvergenceError when the Hessian is not positive definite.
        """
        k = len(theta)
        penalizer = float(self.penalizer)
        steps = 1e-4 * theta

        def total(t: FloatArray) -> float:
            return nll(t)[0] + n * penalizer * float(t @ t)

        hessian = np.empty((k, k))
        with np.errstate(all="ignore"):
            if self._analytic_gradient:
                for j in range(k):
                    up, down = theta.copy(), theta.copy()
                    up[j] += steps[j]
                    down[j] -= steps[j]
                    g_up = nll(up)[1]
                    g_down = nll(down)[1]
                    assert g_up is not None and g_down is not None
                    hessian[:, j] = (g_up - g_down) / (2 * steps[j])
                hessian = (hessian + hessian.T) / 2 + 2 * n * penalizer * np.eye(k)
            else:
                f0 = total(theta)
                for i in range(k):
                    for j in range(i, k):
                        if i == j:
                            e = np.zeros(k)
                            e[i] = steps[i]
                            value = (total(theta + e) - 2 * f0 + total(theta - e)) / steps[i] ** 2
                        else:
                            ei = np.zeros(k)
                            ej = np.zeros(k)
                            ei[i] = steps[i]
                            ej[j] = steps[j]
                            value = (
                                total(theta + ei + ej) - total(theta + ei - ej)
                                - total(theta - ei + ej) + total(theta - ei - ej)
                            ) / (4 * steps[i] * steps[j])
                        hessian[i, j] = hessian[j, i] = value
        positive_definite = bool(np.all(np.isfinite(hessian))) and bool(
            np.all(np.linalg.eigvalsh(hessian) > 0)
        )
        if not positive_definite:
            estimates = ", ".join(
                f"{k}={v:.4g}" for k, v in zip(self._param_names, theta, strict=True)
            )
            raise ConvergenceError(
                f"{type(self).__name__}: the likelihood has no proper maximum at {estimates} "
                "(its Hessian is not positive definite), so the data do not identify the "
                "parameters; try a small penalizer (e.g. penalizer=0.001), more customers, or "
                "fit(..., initial_params={...})"
            )
        return np.asarray(np.linalg.inv(hessian), dtype=np.float64)
