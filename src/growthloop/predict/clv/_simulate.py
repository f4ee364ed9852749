"""Customer histories drawn from the models' own assumptions (for tests and benchmarks)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from growthloop.errors import ModelError
from growthloop.predict.clv._base import FloatArray

__all__ = ["simulate_beta_geo", "simulate_gamma_gamma", "simulate_pareto_nbd"]


def _observation_times(n_customers: int, T: float | FloatArray) -> FloatArray:
    if n_customers < 1:
        raise ModelError(f"n_customers = {n_customers} must be at least 1")
    big_t = np.broadcast_to(np.asarray(T, dtype=np.float64), (n_customers,)).copy()
    if not np.all(np.isfinite(big_t) & (big_t > 0)):
        raise ModelError("T must be finite and > 0 for every simulated customer")
    return big_t


def _recency(
    rng: np.random.Generator, frequency: FloatArray, n_in_window: FloatArray, window: FloatArray
) -> FloatArray:
    """Time of the ``frequency``-th of ``n_in_window`` uniform purchase times in ``window``."""
    has = frequency > 0
    shape_a = np.where(has, frequency, 1.0)
    shape_b = np.where(has, n_in_window - frequency + 1.0, 1.0)
    return np.where(has, window * rng.beta(shape_a, shape_b), 0.0)


def simulate_beta_geo(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: float | FloatArray,
    seed: int = 0,
) -> pd.DataFrame:
    """Draw customer histories from the BG/NBD model (Fader, Hardie & Lee 2005, section 3).

    A customer's rate ``lambda ~ Gamma(r, alpha)`` and dropout probability ``p ~ Beta(a, b)``;
    purchases in ``(0, T]`` follow a Poisson process and the customer drops out after the
    ``K``-th repeat purchase with ``K ~ Geometric(p)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency``, ``recency``, ``T``.
    """
    rng = np.random.default_rng(seed)
    big_t = _observation_times(n_customers, T)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    p = rng.beta(a, b, n_customers)
    n_in_window = rng.poisson(rate * big_t).astype(np.float64)
    purchases_before_dropout = rng.geometric(p).astype(np.float64)
    frequency = np.minimum(n_in_window, purchases_before_dropout)
    recency = _recency(rng, frequency, n_in_window, big_t)
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": big_t})


def simulate_pareto_nbd(
    n_customers: int,
    *,
    r: float,
    alpha: float,
    s: float,
    beta: float,
    T: float | FloatArray,
    seed: int = 0,
) -> pd.DataFrame:
    """Draw customer histories from the Pareto/NBD model (Schmittlein et al. 1987).

    ``lambda ~ Gamma(r, alpha)``, dropout rate ``mu ~ Gamma(s, beta)``; the customer's
    lifetime is exponential with rate ``mu`` and purchases while alive are Poisson.

    Returns
    -------
    pandas.DataFrame
        Columns ``frequency``, ``recency``, ``T``.
    """
    rng = np.random.default_rng(seed)
    big_t = _observation_times(n_customers, T)
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    mu = rng.gamma(s, 1.0 / beta, n_customers)
    lifetime = rng.exponential(1.0 / mu)
    window = np.minimum(lifetime, big_t)
    frequency = rng.poisson(rate * window).astype(np.float64)
    recency = _recency(rng, frequency, frequency, window)
    return pd.DataFrame({"frequency": frequency, "recency": recency, "T": big_t})


def simulate_gamma_gamma(
    frequency: FloatArray | pd.Series,
    *,
    p: float,
    q: float,
    gamma: float,
    seed: int = 0,
) -> FloatArray:
    """Draw mean spend per repeat purchase from the Gamma-Gamma model (Fader et al. 2005).

    Each customer's ``nu ~ Gamma(q, gamma)``; each purchase is ``Gamma(p, nu)``, so the sum of
    ``x`` purchases is ``Gamma(p x, nu)``. Customers with ``frequency == 0`` get 0.

    Returns
    -------
    numpy.ndarray
        Mean spend per repeat purchase.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(frequency, dtype=np.float64)
    nu = rng.gamma(q, 1.0 / gamma, len(x))
    has = x > 0
    total = rng.gamma(np.where(has, p * x, 1.0), 1.0 / nu)
    return np.asarray(np.where(has, total / np.where(has, x, 1.0), 0.0), dtype=np.float64)
