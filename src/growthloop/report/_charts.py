"""Charts as Vega-Lite specs (Altair), rendered to inline SVG with vl-convert (no browser)."""

from __future__ import annotations

from typing import Any

import altair as alt
import vl_convert as vlc

__all__ = ["bar_chart", "line_chart", "to_svg"]

_WIDTH = 640


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render a chart to an SVG string."""
    return str(vlc.vegalite_to_svg(chart.to_dict()))


def line_chart(
    data: Any,
    x: str,
    y: str,
    *,
    title: str,
    x_title: str,
    y_title: str,
    color: str | None = None,
) -> str:
    """A line chart of ``y`` over time ``x`` (one line per ``color`` value), as SVG."""
    encoding: dict[str, Any] = {
        "x": alt.X(f"{x}:T", title=x_title),
        "y": alt.Y(f"{y}:Q", title=y_title),
        "tooltip": [alt.Tooltip(f"{x}:T"), alt.Tooltip(f"{y}:Q", format=",.0f")],
    }
    if color is not None:
        encoding["color"] = alt.Color(f"{color}:N", title=color)
    chart = (
        alt.Chart(data, title=title)
        .mark_line(point=True)
        .encode(**encoding)
        .properties(width=_WIDTH, height=240)
    )
    return to_svg(chart)


def bar_chart(data: Any, category: str, value: str, *, title: str, value_title: str) -> str:
    """A horizontal bar chart of ``value`` per ``category``, largest first, as SVG."""
    chart = (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", sort="-x", title=None),
            x=alt.X(f"{value}:Q", title=value_title),
            tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip(f"{value}:Q", format=",")],
        )
        .properties(width=_WIDTH - 160, height=alt.Step(18))
    )
    return to_svg(chart)
