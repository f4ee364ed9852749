"""A generated shop with known churn, loaded once for the temporal-model tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from growthloop import Workspace
from growthloop.generate import WorldSpec, generate_world
from growthloop.ingest import load_file, options_for
from growthloop.predict.temporal import Target, TemporalTraining, train_on_profiles
from growthloop.profile import build_profiles

# 4,000 customers over 2024 (seed 7): generated and loaded in about 4 s.
SPEC = WorldSpec(customers=4000, products=300, days=365, seed=7)


@pytest.fixture(scope="session")
def churn_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workspace folder of a loaded world with its live profiles built (no models)."""
    root = tmp_path_factory.mktemp("churn_world")
    world = generate_world(SPEC, root / "world")
    with Workspace.init(root / "ws") as ws:
        for entity in ("products", "customers", "orders", "events"):
            load_file(ws.analytical, entity, world.files[entity], options_for(entity))
        build_profiles(ws.analytical)
    return root / "ws"


@pytest.fixture(scope="session")
def trained_world(churn_world: Path) -> tuple[Path, TemporalTraining]:
    """The world with a churn model trained on its default split (90 days) and registered."""
    with Workspace.open(churn_world) as ws:
        result = train_on_profiles(
            analytical=ws.analytical,
            operational=ws.operational,
            models_dir=ws.models_dir,
            target=Target("churn", 90),
        )
    return churn_world, result
