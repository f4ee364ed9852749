"""Customer-base ("buy till you die") models for customer lifetime value (CLV).

- :class:`BetaGeoModel` (BG/NBD) and :class:`ParetoNBDModel`: how many purchases each customer
  will make and whether they are still a customer, from frequency, recency and T;
- :class:`GammaGammaModel`: how much they spend per purchase, and CLV combined with either;
- :func:`summary_from_transactions`: those inputs from a transaction log;
- ``simulate_*``: histories drawn from each model, for tests and benchmarks.

Fitted by maximum likelihood with SciPy and checked against the published CDNOW fits; see
``docs/models.md``.
"""

from __future__ import annotations

from growthloop.predict.clv._base import Interval
from growthloop.predict.clv._beta_geo import BetaGeoModel
from growthloop.predict.clv._data import summary_from_transactions
from growthloop.predict.clv._gamma_gamma import GammaGammaModel
from growthloop.predict.clv._pareto_nbd import ParetoNBDModel
from growthloop.predict.clv._simulate import (
    simulate_beta_geo,
    simulate_gamma_gamma,
    simulate_pareto_nbd,
)
from growthloop.predict.clv._transactions import TransactionModel

__all__ = [
    "BetaGeoModel",
    "GammaGammaModel",
    "Interval",
    "ParetoNBDModel",
    "TransactionModel",
    "simulate_beta_geo",
    "simulate_gamma_gamma",
    "simulate_pareto_nbd",
    "summary_from_transactions",
]
