"""ParetoNBDModel: recovery of simulated parameters, both hypergeometric branches, predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad

from growthloop.errors import ModelError, NotFittedError
from growthloop.predict.clv import ParetoNBDModel, simulate_pareto_nbd

TRUE = {"r": 0.55, "alpha": 10.0, "s": 0.6, "beta": 12.0}


def _on_a_daily_grid(frame: pd.DataFrame) -> pd.DataFrame:
    """Weeks with day resolution, as summary_from_transactions gives them."""
    out = frame.copy()
    out["T"] = np.ceil(out["T"] * 7) / 7
    out["recency"] = np.floor(out["recency"] * 7) / 7
    return out


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    T = np.random.default_rng(5).integers(27, 39, 8000).astype(float)
    return _on_a_daily_grid(simulate_pareto_nbd(8000, **TRUE, T=T, seed=21))


@pytest.fixture(scope="module")
def fitted(simulated: pd.DataFrame) -> ParetoNBDModel:
    return ParetoNBDModel().fit(simulated["frequency"], simulated["recency"], simulated["T"])


def test_recovers_simulated_parameters(fitted: ParetoNBDModel) -> None:
    for name, true in TRUE.items():
        estimate, se = fitted.params_[name], fitted.std_errors_[name]
        assert abs(estimate - true) < 4 * se, (name, estimate, se)


def _likelihood_by_integration(
    theta: dict[str, float], x: float, t_x: float, T: float
) -> float:
    """Equation (18) of Fader & Hardie (2005) with A0 as the integral it comes from."""
    from scipy.special import gammaln

    r, alpha, s, beta = theta["r"], theta["alpha"], theta["s"], theta["beta"]

    # P(X = x, t_x, dies in (t_x, T]) integrated over lambda, mu: integrand over death time y
    def integrand(y: float) -> float:
        return float(
            np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta))
            * s / (alpha + y) ** (r + x) / (beta + y) ** (s + 1)
        )

    dropout, _ = quad(integrand, t_x, T)
    alive = float(
        np.exp(gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta))
        / (alpha + T) ** (r + x) / (beta + T) ** s
    )
    return float(np.log(alive + dropout))


@pytest.mark.parametrize(
    "theta",
    [
        {"r": 0.5, "alpha": 10.0, "s": 0.6, "beta": 12.0},  # alpha < beta
        {"r": 0.5, "alpha": 12.0, "s": 0.6, "beta": 3.0},  # alpha >= beta
        {"r": 2.0, "alpha": 1.0, "s": 3.0, "beta": 50.0},  # far apart
    ],
)
def test_log_likelihood_matches_numerical_integration(theta: dict[str, float]) -> None:
    from growthloop.predict.clv._pareto_nbd import _pareto_nbd_nll

    cases = [(0.0, 0.0, 30.0), (3.0, 12.5, 38.0), (20.0, 37.0, 38.0), (5.0, 30.0, 30.0)]
    for x, t_x, T in cases:
        nll = _pareto_nbd_nll(
            [np.array([x]), np.array([t_x]), np.array([T])], np.ones(1)
        )
        value, _ = nll(np.array([theta["r"], theta["alpha"], theta["s"], theta["beta"]]))
        assert -value == pytest.approx(_likelihood_by_integration(theta, x, t_x, T), rel=1e-7)


def test_probability_alive_and_expectations(fitted: ParetoNBDModel,
                                            simulated: pd.DataFrame) -> None:
    p = fitted.probability_alive(simulated["frequency"], simulated["recency"], simulated["T"])
    assert np.all((p >= 0) & (p <= 1))
    assert fitted.probability_alive(4, 5.0, 38.0) < fitted.probability_alive(4, 35.0, 38.0)
    t = np.linspace(0.0, 100.0, 20)
    assert np.all(np.diff(fitted.expected_purchases(t, 2, 20.0, 38.0)) > 0)
    assert np.all(np.diff(fitted.unconditional_expected_purchases(t)) > 0)


def test_expectation_at_s_equal_one_is_continuous(fitted: ParetoNBDModel) -> None:
    data = fitted.to_dict()
    near = [
        ParetoNBDModel.from_dict({**data, "params": {**fitted.params_, "s": s}})
        for s in (1.0 - 1e-7, 1.0, 1.0 + 1e-7)
    ]
    values = [float(m.unconditional_expected_purchases(52.0)) for m in near]
    assert values[0] == pytest.approx(values[1], rel=1e-5)
    assert values[2] == pytest.approx(values[1], rel=1e-5)


def test_unconditional_expectation_matches_simulation() -> None:
    model = ParetoNBDModel.from_dict(
        {
            "model": "ParetoNBDModel", "format_version": 1,
            "hyperparameters": {"penalizer": 0.0, "max_iter": 2000, "tol": 1e-6},
            "params": TRUE, "std_errors": dict.fromkeys(TRUE),
            "covariance": [[None] * 4] * 4, "log_likelihood": 0.0, "n_customers": 0,
        }
    )
    fresh = simulate_pareto_nbd(200_000, **TRUE, T=39.0, seed=9)
    assert float(model.unconditional_expected_purchases(39.0)) == pytest.approx(
        fresh["frequency"].mean(), rel=0.02
    )


def test_unfitted_and_too_few(tmp_path: Path) -> None:
    with pytest.raises(NotFittedError, match="This ParetoNBDModel instance is not fitted yet"):
        ParetoNBDModel().expected_purchases(1.0, 1, 1.0, 2.0)
    with pytest.raises(ModelError, match="needs at least 1 repeat buyer"):
        ParetoNBDModel().fit([0, 0], [0.0, 0.0], [3.0, 4.0])


def test_save_load_roundtrip(fitted: ParetoNBDModel, tmp_path: Path) -> None:
    fitted.save(tmp_path / "pnbd.json")
    loaded = ParetoNBDModel.load(tmp_path / "pnbd.json")
    assert loaded.params_ == fitted.params_
    assert loaded.summary.equals(fitted.summary)
