"""The ``growthloop`` command line. Every command speaks ``--json`` and takes ``--workspace``."""

from __future__ import annotations

import logging

import typer

from growthloop import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="growthloop",
    help="Open-source, AI-driven marketing automation: data → profiles → segments → "
    "predictions → journeys → measurement.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"growthloop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    from growthloop.cli import _commands  # noqa: F401  (registers the commands on `app`)


def main() -> None:
    """Entry point of the ``growthloop`` script."""
    _register()
    app()
