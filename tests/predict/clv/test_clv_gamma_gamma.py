"""GammaGammaModel: recovery, conditional spend, CLV, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from growthloop.errors import ModelError, NotFittedError
from growthloop.predict.clv import (
    BetaGeoModel,
    GammaGammaModel,
    simulate_beta_geo,
    simulate_gamma_gamma,
)

TRUE = {"p": 6.0, "q": 4.0, "gamma": 15.0}


@pytest.fixture(scope="module")
def frequency() -> np.ndarray:
    return np.random.default_rng(1).integers(1, 12, 10_000).astype(float)


@pytest.fixture(scope="module")
def fitted(frequency: np.ndarray) -> GammaGammaModel:
    spend = simulate_gamma_gamma(frequency, **TRUE, seed=4)
    return GammaGammaModel().fit(frequency, spend)


def test_recovers_simulated_parameters(fitted: GammaGammaModel) -> None:
    for name, true in TRUE.items():
        estimate, se = fitted.params_[name], fitted.std_errors_[name]
        assert abs(estimate - true) < 4 * se, (name, estimate, se)


def test_customers_without_repeat_purchases_are_skipped(frequency: np.ndarray) -> None:
    spend = simulate_gamma_gamma(frequency, **TRUE, seed=4)
    with_zeros = GammaGammaModel().fit(np.r_[frequency, [0, 0, 0]], np.r_[spend, [0, 0, 0]])
    without = GammaGammaModel().fit(frequency, spend)
    assert with_zeros.params_ == pytest.approx(without.params_)
    assert with_zeros.n_customers_ == len(frequency)


def test_expected_spend_shrinks_towards_the_population_mean(fitted: GammaGammaModel) -> None:
    p, q, gamma = (fitted.params_[k] for k in ("p", "q", "gamma"))
    population = p * gamma / (q - 1)
    assert float(fitted.expected_spend(0, 0.0)) == pytest.approx(population)
    one = float(fitted.expected_spend(1, 100.0))
    many = float(fitted.expected_spend(50, 100.0))
    assert population < one < many < 100.0
    assert one == pytest.approx(p * (gamma + 100.0) / (p + q - 1))


def test_customer_lifetime_value(fitted: GammaGammaModel) -> None:
    history = simulate_beta_geo(500, r=0.5, alpha=6.0, a=0.8, b=2.5, T=39.0, seed=2)
    bgnbd = BetaGeoModel().fit(history["frequency"], history["recency"], history["T"])
    args = (bgnbd, [0, 4], [0.0, 30.0], [39.0, 39.0], [0.0, 25.0])
    undiscounted = fitted.customer_lifetime_value(*args, horizon=52.0)
    expected = fitted.expected_spend([0, 4], [0.0, 25.0]) * bgnbd.expected_purchases(
        52.0, [0, 4], [0.0, 30.0], [39.0, 39.0]
    )
    np.testing.assert_allclose(undiscounted, expected)
    discounted = fitted.customer_lifetime_value(
        *args, horizon=52.0, discount_rate=0.01, margin=0.3, step=4.345
    )
    assert np.all(discounted < 0.3 * undiscounted)
    assert np.all(discounted > 0.3 * undiscounted / 1.01 ** 12)
    with pytest.raises(ModelError, match="horizon = 0.0 must be > 0"):
        fitted.customer_lifetime_value(*args, horizon=0.0)
    with pytest.raises(ModelError, match="transaction_model must be"):
        fitted.customer_lifetime_value(fitted, [1], [1.0], [2.0], [3.0], horizon=1.0)  # type: ignore[arg-type]


def test_too_few_repeat_buyers() -> None:
    with pytest.raises(ModelError, match="needs at least 10 repeat buyers .* got 3"):
        GammaGammaModel().fit([1, 2, 3, 0], [10.0, 12.0, 9.0, 0.0])


def test_bad_input() -> None:
    with pytest.raises(ModelError, match=r"monetary_value\[1\] = 0.0 with frequency\[1\] = 2"):
        GammaGammaModel().fit([1, 2], [10.0, 0.0])
    with pytest.raises(ModelError, match=r"monetary_value\[0\] = -3.0 is not allowed"):
        GammaGammaModel().fit([1, 2], [-3.0, 1.0])
    with pytest.raises(ModelError, match="different lengths"):
        GammaGammaModel().fit([1, 2], [3.0])
    with pytest.raises(ModelError, match=r"GammaGammaModel\(penalizer=-1\) is invalid"):
        GammaGammaModel(penalizer=-1).fit([1] * 20, [3.0] * 20)


def test_unfitted() -> None:
    with pytest.raises(NotFittedError, match="This GammaGammaModel instance is not fitted yet"):
        GammaGammaModel().expected_spend(1, 2.0)


def test_save_load_roundtrip(fitted: GammaGammaModel, tmp_path: Path) -> None:
    fitted.save(tmp_path / "gg.json")
    loaded = GammaGammaModel.load(tmp_path / "gg.json")
    assert loaded.params_ == fitted.params_
    pd.testing.assert_frame_equal(loaded.summary, fitted.summary)
    assert loaded.get_params() == fitted.get_params()
