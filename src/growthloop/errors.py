"""The one exception hierarchy of growthloop.

::

    GrowthloopError                 every error growthloop raises on purpose
    ├── ConfigError                 a workspace or setting is missing or wrong
    ├── IngestError                 a file cannot be loaded at all (nothing was loaded)
    ├── StoreError                  a store cannot be opened, migrated or queried
    ├── IdentityError               an identity cannot be resolved
    ├── NotFoundError               a customer, key or other record does not exist
    ├── ModelError                  a model cannot be fitted or used
    │   ├── NotFittedError
    │   └── ConvergenceError
    ├── JourneyError
    └── DeliveryError
        ├── TransientDeliveryError
        └── PermanentDeliveryError

Every message names the value, the rule it broke and the fix, in one line, so the CLI can print
it as it is and the API can return it as a 4xx body.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "DeliveryError",
    "GrowthloopError",
    "IdentityError",
    "IngestError",
    "JourneyError",
    "ModelError",
    "NotFittedError",
    "NotFoundError",
    "PermanentDeliveryError",
    "StoreError",
    "TransientDeliveryError",
]


class GrowthloopError(Exception):
    """Base class of every error growthloop raises on purpose."""


class ConfigError(GrowthloopError):
    """A workspace or setting is missing or invalid."""


class IngestError(GrowthloopError):
    """A whole file cannot be loaded; nothing from it was stored."""


class StoreError(GrowthloopError):
    """A store cannot be opened, migrated or queried."""


class IdentityError(GrowthloopError):
    """An identity cannot be resolved."""


class NotFoundError(GrowthloopError):
    """A requested record does not exist."""


class ModelError(GrowthloopError):
    """A model cannot be fitted or used."""


class NotFittedError(ModelError):
    """A model was used before ``fit``."""


class ConvergenceError(ModelError):
    """An optimiser did not converge."""


class JourneyError(GrowthloopError):
    """A journey definition or run is invalid."""


class DeliveryError(GrowthloopError):
    """A message could not be delivered."""


class TransientDeliveryError(DeliveryError):
    """Delivery failed but may succeed when retried."""


class PermanentDeliveryError(DeliveryError):
    """Delivery failed and will not succeed when retried."""
