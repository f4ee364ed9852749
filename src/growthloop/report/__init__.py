"""Reports: self-contained HTML pages with charts, one section per stage of the loop."""

from __future__ import annotations

from growthloop.report._build import render_report
from growthloop.report._clusters import clusters_section
from growthloop.report._lifetime import clv_section
from growthloop.report._predictions import predictions_section
from growthloop.report._profiles import profiles_section
from growthloop.report._quality import data_quality_section
from growthloop.report._recommendations import recommendations_section
from growthloop.report._section import Section
from growthloop.report._segments import segments_section

__all__ = [
    "Section",
    "clusters_section",
    "clv_section",
    "data_quality_section",
    "predictions_section",
    "profiles_section",
    "recommendations_section",
    "render_report",
    "segments_section",
]
