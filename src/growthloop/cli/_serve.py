"""``growthloop serve``: run the event collection API with uvicorn."""

from __future__ import annotations

import copy
import os
import socket
import sys
from typing import Annotated, Any

import typer
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from growthloop.api import create_app
from growthloop.cli import app
from growthloop.cli._common import JsonOpt, WorkspaceOpt, console, emit, handle_errors
from growthloop.errors import ConfigError
from growthloop.workspace import Workspace


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, with the access log on stderr too (stdout is for ``--json``)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pick another --port or --host"
        ) from exc
    sock.set_inheritable(True)
    return sock


@app.command(
    "serve",
    epilog="Example: growthloop serve --port 8000, then point analytics-python at it: "
    "analytics.host = 'http://127.0.0.1:8000'; analytics.write_key = 'gl_w_...'",
)
@handle_errors
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: [server] host).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535,
                     help="Port (default: [server] port; 0 picks a free one and prints it)."),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log", help="Log every request to stderr.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the event collection API (Segment/RudderStack-compatible) until stopped (Ctrl-C).

    Endpoints: POST /v1/batch, /v1/identify, /v1/track, /v1/page, /v1/screen, /v1/group,
    /v1/alias; GET /health; API docs at /docs. Send events with a write key from
    `growthloop keys create --scope write`. With --json, one JSON object with the URL is printed
    once the port is bound; logs go to stderr.
    """
    opened = Workspace.open(workspace)  # reads the configuration; opens no store
    root, settings = opened.root, opened.config.server
    bind_host = host or settings.host
    sock = _listen(bind_host, settings.port if port is None else port)
    bound_port = sock.getsockname()[1]
    application = create_app(root)
    url_host = f"[{bind_host}]" if ":" in bind_host else bind_host
    url = f"http://{url_host}:{bound_port}"
    result = {"url": url, "docs": f"{url}/docs", "workspace": str(root), "pid": os.getpid()}
    emit(result, as_json, lambda: console.print(
        f"[green]✓[/] growthloop API on [bold]{url}[/] (docs {url}/docs), workspace {root}"))
    sys.stdout.flush()
    config = uvicorn.Config(application, log_config=_log_config(), log_level=log_level,
                            access_log=access_log, server_header=False)
    uvicorn.Server(config).run(sockets=[sock])

