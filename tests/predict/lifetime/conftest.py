"""A generated shop over two years, loaded once for the workspace CLV tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from growthloop import Workspace
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import load_file, options_for
from growthloop.predict.lifetime import ClvTraining, train_clv
from growthloop.profile import build_profiles

# 2,000 customers over 2024-2025 (seed 3): about 1,600 buyers and 16,000 purchase days.
# Two whole years, so that calibration (2024) and holdout (2025) each hold one Christmas peak:
# the models assume a steady purchase rate, and a holdout of only the last quarter (Oct-Dec,
# twice the orders of an average quarter) would be underpredicted by a third.
SPEC = WorldSpec(customers=2000, products=50, days=730, seed=3)
CALIBRATION_END = date(2024, 12, 31)


@pytest.fixture(scope="session")
def clv_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace folder of the loaded world with its profiles built (no models)."""
    root = tmp_path_factory.mktemp("clv_world")
    world = generate_world(SPEC, root / "world")
    with Workspace.init(root / "ws") as ws:
        for entity in ("products", "customers", "orders"):
            load_file(ws.analytical, entity, world.files[entity], options_for(entity))
        build_profiles(ws.analytical)
    return root / "ws"


@pytest.fixture(scope="session")
def clv_trained(clv_world: Path) -> tuple[Path, ClvTraining]:
    """The world with BG/NBD + Gamma-Gamma trained (holdout: 2025) and registered as ``clv``."""
    with Workspace.open(clv_world) as ws:
        result = train_clv(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            calibration_end=CALIBRATION_END,
        )
    return clv_world, result
