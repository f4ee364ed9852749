"""A workspace: one folder holding the configuration, both stores and the model registry."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from types import TracebackType

from growthloop.config import (
    CONFIG_FILE,
    OperationalConfig,
    WorkspaceConfig,
    load_config,
    render_config,
)
from growthloop.errors import ConfigError
from growthloop.store import AnalyticalStore, OperationalStore

__all__ = ["Workspace", "find_workspace"]


def find_workspace(start: Path | None = None) -> Path:
    """Return the workspace folder: ``GROWTHLOOP_WORKSPACE``, else ``start`` or the current
    folder, else its nearest parent holding ``growthloop.toml``."""
    env = os.environ.get("GROWTHLOOP_WORKSPACE")
    if start is None and env:
        start = Path(env)
    here = (start or Path.cwd()).resolve()
    if start is not None:
        return here
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise ConfigError(
        f"no workspace found in {here} or its parents ({CONFIG_FILE} missing); "
        "run `growthloop init DIR` or pass --workspace DIR"
    )


class Workspace:
    """An opened workspace. Use :meth:`init` to create one and :meth:`open` to open one.

    The stores open lazily on first use; close them with :meth:`close` or a ``with`` block.
    """

    def __init__(self, root: Path, config: WorkspaceConfig) -> None:
        self.root = root
        self.config = config

    @classmethod
    def init(cls, root: Path, *, name: str | None = None, ops_url: str | None = None) -> Workspace:
        """Create a workspace in ``root`` (created if missing) and migrate its stores.

        Running it on an existing workspace keeps its configuration and only migrates.
        """
        root = root.resolve()
        root.mkdir(parents=True, exist_ok=True)
        path = root / CONFIG_FILE
        if not path.exists():
            config = WorkspaceConfig(name=name or root.name)
            if ops_url:
                config = config.model_copy(update={"operational": OperationalConfig(url=ops_url)})
            path.write_text(render_config(config), encoding="utf-8")
        workspace = cls.open(root)
        (root / workspace.config.models_dir).mkdir(exist_ok=True)
        workspace.analytical  # noqa: B018 - creates the file and schema
        workspace.operational  # noqa: B018 - runs the migrations
        return workspace

    @classmethod
    def open(cls, root: Path | None = None) -> Workspace:
        """Open the workspace in ``root`` (default: see :func:`find_workspace`)."""
        folder = find_workspace(root)
        return cls(folder, load_config(folder))

    @property
    def models_dir(self) -> Path:
        return self.root / self.config.models_dir

    @cached_property
    def analytical(self) -> AnalyticalStore:
        """The analytical store (DuckDB file), schema created on first open."""
        return AnalyticalStore.open(
            self.root / self.config.analytical.path,
            memory_limit=self.config.analytical.memory_limit,
            threads=self.config.analytical.threads,
        )

    @cached_property
    def operational(self) -> OperationalStore:
        """The operational store, migrated to the newest schema on first open."""
        return OperationalStore.open(self.config.operational.url, base_dir=self.root)

    def close(self) -> None:
        """Close whichever stores were opened."""
        if "analytical" in self.__dict__:
            self.analytical.close()
            del self.__dict__["analytical"]
        if "operational" in self.__dict__:
            self.operational.close()
            del self.__dict__["operational"]

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
