"""The model registry: versioned models with their metadata, promotion and rollback.

Metadata (kind, training window, feature set, metrics, parameters, library versions, data
fingerprint, status) is kept in the operational store; each version's artifact is a folder in
the workspace's models folder holding ``model.joblib`` and a readable ``metadata.json``.
"""

from __future__ import annotations

from growthloop.predict.registry._registry import (
    STATUSES,
    ModelVersion,
    Promotion,
    get_model,
    library_versions,
    list_models,
    load_model,
    promote,
    promotion_history,
    register_model,
    rollback,
)

__all__ = [
    "STATUSES",
    "ModelVersion",
    "Promotion",
    "get_model",
    "library_versions",
    "list_models",
    "load_model",
    "promote",
    "promotion_history",
    "register_model",
    "rollback",
]
