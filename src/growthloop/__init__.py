"""growthloop: open-source, AI-driven marketing automation.

The loop: collect → clean → store → profile → segment → predict → recommend → act → measure.
"""

from __future__ import annotations

from growthloop.errors import GrowthloopError
from growthloop.workspace import Workspace

__all__ = ["GrowthloopError", "Workspace", "__version__"]

__version__ = "0.1.0"
