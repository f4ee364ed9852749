"""CLV model benchmark: BG/NBD and Gamma-Gamma fits against lifetimes and PyMC-Marketing.

Cases: the CDNOW sample (2,357 customers, 39-week calibration, from the raw transactions)
and simulated customers (``--customers``, default 1,000,000; BG/NBD histories on a daily grid
in weeks and Gamma-Gamma spend with the CDNOW parameters). Each fit is timed alone (data
already in memory), best of ``--repeats``.

Baselines, in the same run on the same data files: lifetimes 0.11.3 (``BetaGeoFitter``,
``GammaGammaFitter``) and PyMC-Marketing's MAP fit (``method="map"``; its time includes the
model's compilation). lifetimes does not import with pandas 3, so when it is missing here the
script creates ``benchmarks/.venv-baselines`` (pandas<3, lifetimes, pymc-marketing) and runs the
baseline fits there in a subprocess. Targets: faster than both baselines; 1M customers fitted
in under 10 s.

Scoring: on the simulated customers, the throughput (customers/s) of P(alive), expected
purchases in 90 days, 1-year CLV (12 monthly discounting steps) and all five measures that
``growthloop score clv`` stores (``score_customers``), with the models fitted on the same data.

Run: ``python benchmarks/models.py`` (``--skip-baselines`` for growthloop only,
``--scoring-only`` for the scoring throughput only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("GROWTHLOOP_DATASETS", ROOT.parent / "shared" / "datasets"))
VENV = ROOT / "benchmarks" / ".venv-baselines"
BASELINE_PACKAGES = ["pandas<3", "numpy", "scipy", "lifetimes"]


def _best_of(repeats: int, fit: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fit()
        best = min(best, time.perf_counter() - started)
    return best, result


# --- data --------------------------------------------------------------------------------
def write_cases(directory: Path, customers: int) -> dict[str, Path]:
    import numpy as np
    import pandas as pd

    from growthloop.predict.clv import (
        simulate_beta_geo,
        simulate_gamma_gamma,
        summary_from_transactions,
    )

    log = pd.read_csv(
        DATASETS / "cdnow" / "CDNOW_sample.txt", sep=r"\s+", header=None,
        names=["master_id", "sample_id", "date", "cds", "dollars"], dtype={"date": str},
    )
    cdnow = summary_from_transactions(
        log, "sample_id", "date", "dollars", calibration_end="1997-09-30", freq="W"
    )
    rng = np.random.default_rng(1)
    # first purchases spread over a year, times on a daily grid in weeks
    T = np.ceil(rng.uniform(1.0, 52.0, customers) * 7) / 7
    simulated = simulate_beta_geo(customers, r=0.243, alpha=4.414, a=0.793, b=2.426, T=T, seed=2)
    simulated["recency"] = np.floor(simulated["recency"] * 7) / 7
    spend = simulate_gamma_gamma(simulated["frequency"], p=6.25, q=3.74, gamma=15.44, seed=3)
    simulated["monetary_value"] = np.round(spend, 2)
    paths = {"cdnow": directory / "cdnow.csv", f"simulated {customers:,}": directory / "sim.csv"}
    cdnow.reset_index(drop=True)[["frequency", "recency", "T", "monetary_value"]].to_csv(
        paths["cdnow"], index=False
    )
    simulated.to_csv(paths[f"simulated {customers:,}"], index=False)
    return paths


def _read(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path)


# --- scoring -------------------------------------------------------------------------------
def score_growthloop(path: Path, repeats: int) -> dict[str, float]:
    """Customers per second of each prediction, the models fitted once on the same data."""
    from datetime import date

    from growthloop.predict.clv import BetaGeoModel, GammaGammaModel
    from growthloop.predict.lifetime import ClvModel, score_customers

    data = _read(path)
    x, t_x, big_t = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    m = data["monetary_value"].to_numpy(float)
    bg = BetaGeoModel().fit(x, t_x, big_t)
    gg = GammaGammaModel().fit(x, m)
    model = ClvModel(bg, gg, date(2024, 12, 31))
    cases: dict[str, Callable[[], Any]] = {
        "p_alive": lambda: bg.probability_alive(x, t_x, big_t),
        "expected_purchases_90d": lambda: bg.expected_purchases(90 / 7, x, t_x, big_t),
        "clv_1y": lambda: gg.customer_lifetime_value(
            bg, x, t_x, big_t, m, horizon=365 / 7, discount_rate=0.01, step=365.25 / 12 / 7
        ),
        "score_customers": lambda: score_customers(model, data),
    }
    return {name: len(data) / _best_of(repeats, run)[0] for name, run in cases.items()}


# --- fits ----------------------------------------------------------------------------------
def fit_growthloop(path: Path, repeats: int) -> dict[str, Any]:
    from growthloop.predict.clv import BetaGeoModel, GammaGammaModel

    data = _read(path)
    x, t_x, big_t = (data[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    m = data["monetary_value"].to_numpy(float)
    bg_seconds, bg = _best_of(repeats, lambda: BetaGeoModel().fit(x, t_x, big_t))
    gg_seconds, gg = _best_of(repeats, lambda: GammaGammaModel().fit(x, m))
    return {"bgnbd": bg_seconds, "gamma_gamma": gg_seconds,
            "bgnbd_params": bg.params_, "gamma_gamma_params": gg.params_}


def fit_lifetimes(path: Path, repeats: int) -> dict[str, Any]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    data = _read(path)
    repeat = data[data["frequency"] > 0]
    bg_seconds, bg = _best_of(
        repeats, lambda: BetaGeoFitter().fit(data["frequency"], data["recency"], data["T"])
    )
    gg_seconds, gg = _best_of(
        repeats,
        lambda: GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"]),
    )
    return {"bgnbd": bg_seconds, "gamma_gamma": gg_seconds,
            "bgnbd_params": {k: float(v) for k, v in bg.params_.items()},
            "gamma_gamma_params": {k: float(v) for k, v in gg.params_.items()}}


def fit_pymc(path: Path, repeats: int) -> dict[str, Any]:
    import logging
    import warnings

    import pandas as pd
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    data = _read(path)
    frame = pd.DataFrame({"customer_id": range(len(data)), "frequency": data["frequency"],
                          "recency": data["recency"], "T": data["T"]})
    repeat = data[data["frequency"] > 0]
    spend = pd.DataFrame({"customer_id": range(len(repeat)), "frequency": repeat["frequency"],
                          "monetary_value": repeat["monetary_value"]})

    def bgnbd() -> Any:
        model = BetaGeoModel(data=frame)
        model.fit(method="map", progressbar=False)
        return model

    def gamma_gamma() -> Any:
        model = GammaGammaModel(data=spend)
        model.fit(method="map", progressbar=False)
        return model

    bg_seconds, bg = _best_of(repeats, bgnbd)
    gg_seconds, gg = _best_of(repeats, gamma_gamma)
    return {"bgnbd": bg_seconds, "gamma_gamma": gg_seconds,
            "bgnbd_params": {k: float(v) for k, v in bg.fit_summary().items()},
            "gamma_gamma_params": {k: float(v) for k, v in gg.fit_summary().items()}}


WORKERS = {"growthloop": fit_growthloop, "lifetimes": fit_lifetimes, "pymc": fit_pymc}


# --- baselines environment ------------------------------------------------------------------
def _can_import(python: str, module: str) -> bool:
    code = f"import {module}"
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return result.returncode == 0


def baseline_python(install_pymc: bool) -> str:
    """A Python that imports lifetimes: this one, or the separate baselines venv."""
    if _can_import(sys.executable, "lifetimes"):
        return sys.executable
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV.relative_to(ROOT)} for the baselines (pandas<3) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        (VENV / ".gitignore").write_text("*\n")
    if not _can_import(str(python), "lifetimes"):
        subprocess.run([str(python), "-m", "pip", "install", "-q", *BASELINE_PACKAGES], check=True)
    if install_pymc and not _can_import(str(python), "pymc_marketing"):
        try:
            subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "pandas<3", "pymc-marketing"],
                check=True, timeout=600,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            print(f"note: pymc-marketing did not install ({exc}); skipping it", flush=True)
    return str(python)


def run_worker(python: str, worker: str, path: Path, repeats: int, timeout: float
               ) -> dict[str, Any] | str:
    command = [python, str(Path(__file__).resolve()), "--worker", worker, "--data", str(path),
               "--repeats", str(repeats)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired:
        return f"over {timeout:.0f} s"
    if result.returncode != 0:
        return "failed: " + (result.stderr.strip().splitlines() or ["?"])[-1]
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# --- report ----------------------------------------------------------------------------------
def _seconds(value: Any, key: str) -> str:
    return value if isinstance(value, str) else f"{value[key]:.3f} s"


def _ratio(ours: dict[str, Any], other: Any, key: str) -> str:
    if isinstance(other, str):
        return "-"
    return f"{other[key] / ours[key]:.1f}x"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for growthloop/CDNOW")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--skip-pymc", action="store_true")
    parser.add_argument("--scoring-only", action="store_true", help="scoring throughput only")
    parser.add_argument("--baseline-timeout", type=float, default=1800.0)
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = WORKERS[args.worker](args.data, args.repeats)
        print(json.dumps(result))
        return

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        cases = write_cases(Path(tmp), args.customers)
        python = None
        pymc = False
        if not (args.skip_baselines or args.scoring_only):
            python = baseline_python(install_pymc=not args.skip_pymc)
            pymc = not args.skip_pymc and _can_import(python, "pymc_marketing")
            if not args.skip_pymc and not pymc:
                print("note: PyMC-Marketing is not installed; its column is skipped")
        rows = []
        for name, path in cases.items():
            big = not name.startswith("cdnow")
            if big:
                rates = score_growthloop(path, args.repeats)
                print(f"{name}: scoring, customers/s: "
                      + ", ".join(f"{k} {v:,.0f}" for k, v in rates.items()), flush=True)
            if args.scoring_only:
                continue
            ours = fit_growthloop(path, args.repeats)
            print(f"{name}: growthloop BG/NBD {ours['bgnbd']:.3f} s "
                  f"{ {k: round(v, 3) for k, v in ours['bgnbd_params'].items()} }, "
                  f"Gamma-Gamma {ours['gamma_gamma']:.3f} s "
                  f"{ {k: round(v, 3) for k, v in ours['gamma_gamma_params'].items()} }",
                  flush=True)
            row: dict[str, Any] = {"case": name, "growthloop": ours}
            if python is not None:
                repeats = 1 if big else args.repeats
                for worker in ("lifetimes", "pymc"):
                    if worker == "pymc" and not pymc:
                        continue
                    other = run_worker(python, worker, path, repeats, args.baseline_timeout)
                    row[worker] = other
                    described = other if isinstance(other, str) else (
                        f"BG/NBD {other['bgnbd']:.3f} s "
                        f"{ {k: round(v, 3) for k, v in other['bgnbd_params'].items()} }, "
                        f"Gamma-Gamma {other['gamma_gamma']:.3f} s"
                    )
                    print(f"{name}: {worker} {described}", flush=True)
            rows.append(row)

    if args.scoring_only:
        return
    print()
    print("| case | model | growthloop | lifetimes | ratio | PyMC-Marketing MAP | ratio |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        for key, label in (("bgnbd", "BG/NBD"), ("gamma_gamma", "Gamma-Gamma")):
            lifetimes = row.get("lifetimes", "not run")
            pymc_result = row.get("pymc", "not run")
            print(f"| {row['case']} | {label} | {row['growthloop'][key]:.3f} s | "
                  f"{_seconds(lifetimes, key)} | {_ratio(row['growthloop'], lifetimes, key)} | "
                  f"{_seconds(pymc_result, key)} | {_ratio(row['growthloop'], pymc_result, key)} |")


if __name__ == "__main__":
    main()
