"""Workspace configuration: the ``growthloop.toml`` file and environment overrides.

A workspace is a folder holding ``growthloop.toml``, the analytical DuckDB file, the operational
SQLite file (unless a PostgreSQL URL is configured) and the model registry folder.
Environment variables override the file: ``GROWTHLOOP_OPS_URL`` switches the operational store.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from growthloop.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "AnalyticalConfig",
    "IngestConfig",
    "OperationalConfig",
    "ServerConfig",
    "WorkspaceConfig",
    "load_config",
    "render_config",
]

CONFIG_FILE = "growthloop.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnalyticalConfig(_Section):
    """The analytical store (DuckDB through Ibis)."""

    path: str = "analytics.duckdb"
    memory_limit: str = "1GB"
    threads: int = Field(default=2, ge=1)


class OperationalConfig(_Section):
    """The operational store (SQLAlchemy: SQLite by default, PostgreSQL in production)."""

    url: str = "sqlite:///ops.sqlite"


class IngestConfig(_Section):
    """Defaults for loading files."""

    source_timezone: str = "UTC"
    currency: str = "USD"
    default_country: str | None = None


class ServerConfig(_Section):
    """The event collection API."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_request_bytes: int = Field(default=512_000, ge=1024)
    max_event_bytes: int = Field(default=32_000, ge=256)


class WorkspaceConfig(_Section):
    """Everything in ``growthloop.toml``."""

    name: str = "growthloop"
    analytical: AnalyticalConfig = AnalyticalConfig()
    operational: OperationalConfig = OperationalConfig()
    ingest: IngestConfig = IngestConfig()
    server: ServerConfig = ServerConfig()
    models_dir: str = "models"


def load_config(root: Path) -> WorkspaceConfig:
    """Read ``growthloop.toml`` in ``root`` and apply environment overrides."""
    path = root / CONFIG_FILE
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no workspace at {root}: {CONFIG_FILE} is missing; "
            f"run `growthloop init {root}` or pass --workspace"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix the file") from exc
    try:
        config = WorkspaceConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: setting '{where}' is invalid: {first['msg']}") from exc
    ops_url = os.environ.get("GROWTHLOOP_OPS_URL")
    if ops_url:
        config = config.model_copy(
            update={"operational": OperationalConfig(url=ops_url)}, deep=True
        )
    return config


def render_config(config: WorkspaceConfig) -> str:
    """Render a configuration as commented TOML."""
    a, o, i, s = config.analytical, config.operational, config.ingest, config.server
    country = f'"{i.default_country}"' if i.default_country else '""  # none'
    lines = [
        "# growthloop workspace. Paths are relative to this file's folder.",
        f'name = "{config.name}"',
        f'models_dir = "{config.models_dir}"',
        "",
        "[analytical]  # DuckDB file reached through Ibis",
        f'path = "{a.path}"',
        f'memory_limit = "{a.memory_limit}"',
        f"threads = {a.threads}",
        "",
        "[operational]  # SQLAlchemy URL; GROWTHLOOP_OPS_URL overrides it",
        f'url = "{o.url}"',
        "",
        "[ingest]",
        f'source_timezone = "{i.source_timezone}"  # timezone of naive timestamps in files',
        f'currency = "{i.currency}"  # currency of amounts when a file has none',
        *([f"default_country = {country}"] if i.default_country else []),
        "",
        "[server]",
        f'host = "{s.host}"',
        f"port = {s.port}",
        f"max_request_bytes = {s.max_request_bytes}",
        f"max_event_bytes = {s.max_event_bytes}",
        "",
    ]
    return "\n".join(lines)
