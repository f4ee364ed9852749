"""Model artifacts on disk: one folder per model version inside the workspace's models folder.

Layout: ``<models_dir>/<name>/v<version>/model.joblib`` (the fitted Python object, written with
joblib) and ``metadata.json`` (a readable copy of the registry row,
without the status, which changes). A pickle can run code when
loaded, so :func:`load_artifact` only loads from inside the workspace's own models folder, and
only a file whose SHA-256 matches the one recorded when it was registered.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import joblib

from growthloop.errors import ModelError

__all__ = [
    "ARTIFACT_FILE",
    "artifact_folder",
    "file_sha256",
    "load_artifact",
    "publish_artifact",
    "remove_artifact",
    "save_artifact",
]

ARTIFACT_FILE = "model.joblib"
METADATA_FILE = "metadata.json"


def artifact_folder(name: str, version: int) -> str:
    """The folder of a model version, relative to the models folder (always ``/``-separated)."""
    return f"{name}/v{version}"


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_artifact(models_dir: Path, relative: str, artifact: Any, metadata: dict[str, Any]) -> str:
    """Write ``artifact`` and ``metadata`` into ``models_dir/relative``; return the SHA-256."""
    folder = models_dir / relative
    folder.mkdir(parents=True)
    path = folder / ARTIFACT_FILE
    joblib.dump(artifact, path, compress=3)
    (folder / METADATA_FILE).write_text(
        json.dumps(metadata, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return file_sha256(path)


def publish_artifact(models_dir: Path, staging: str, relative: str) -> None:
    """Move a saved artifact from its staging folder to its final folder."""
    final = models_dir / relative
    if final.exists():
        shutil.rmtree(final)  # left over from a registration that never committed
    (models_dir / staging).rename(final)


def remove_artifact(models_dir: Path, relative: str) -> None:
    shutil.rmtree(models_dir / relative, ignore_errors=True)


def load_artifact(models_dir: Path, relative: str, sha256: str) -> Any:
    """Load the artifact in ``models_dir/relative`` after checking where it is and its hash."""
    root = models_dir.resolve()
    path = (root / relative / ARTIFACT_FILE).resolve()
    if not path.is_relative_to(root):
        raise ModelError(
            f"model artifact {relative!r} is outside the workspace's models folder {root}; "
            "only artifacts registered in this workspace are loaded"
        )
    if not path.is_file():
        raise ModelError(
            f"model artifact {path} is missing; the models folder may have been moved or "
            "cleaned — register the model again"
        )
    actual = file_sha256(path)
    if actual != sha256:
        raise ModelError(
            f"model artifact {path} has changed since it was registered (sha256 {actual[:12]}… "
            f"instead of {sha256[:12]}…); it is not loaded — register the model again"
        )
    return joblib.load(path)
