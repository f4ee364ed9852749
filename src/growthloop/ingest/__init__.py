"""Collect and clean: loaders, cleaning, identity resolution, Segment-spec events."""

from __future__ import annotations

from growthloop.ingest._load import load_file, options_for
from growthloop.ingest._options import ENTITIES, PRESETS, LoadOptions, Preset, parse_mapping
from growthloop.ingest._summary import LoadSummary

__all__ = [
    "ENTITIES",
    "PRESETS",
    "LoadOptions",
    "LoadSummary",
    "Preset",
    "load_file",
    "options_for",
    "parse_mapping",
]
