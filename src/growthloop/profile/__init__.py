"""Customer profiles (用户画像): coarse, medium and fine layers, point in time."""

from __future__ import annotations

from growthloop.profile._build import ProfileBuild, build_profiles, default_as_of, profile_expr
from growthloop.profile._catalogue import derive_categories
from growthloop.profile._json import json_text
from growthloop.profile._scores import SCORES_TABLE, attach_scores, replace_scores

__all__ = [
    "SCORES_TABLE",
    "ProfileBuild",
    "attach_scores",
    "build_profiles",
    "default_as_of",
    "derive_categories",
    "json_text",
    "profile_expr",
    "replace_scores",
]
