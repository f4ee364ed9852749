"""Rendering the HTML report from its sections (Jinja2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from growthloop import __version__
from growthloop.report._section import Section

__all__ = ["render_report"]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("growthloop.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v: f"{v:,.0f}" if isinstance(v, int | float) else v
    env.filters["money"] = lambda v: f"{v:,.2f}"
    return env


def render_report(
    path: Path,
    sections: Sequence[Section],
    *,
    title: str,
    subtitle: str = "",
    generated_at: datetime | None = None,
) -> Path:
    """Write the report with ``sections`` to ``path`` (one self-contained HTML file)."""
    env = _environment()
    rendered = [
        {"key": s.key, "title": s.title, "html": env.get_template(s.template).render(**s.context)}
        for s in sections
    ]
    html = env.get_template("report.html.j2").render(
        title=title,
        subtitle=subtitle,
        sections=rendered,
        version=__version__,
        generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path
