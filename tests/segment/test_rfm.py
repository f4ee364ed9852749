"""RFM scores and the named segment grid."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from growthloop.segment import RFM_SEGMENTS, rfm_expr, rfm_segment_name


@pytest.mark.parametrize(("r", "f", "name"), [
    (5, 5, "Champions"), (5, 4, "Champions"), (4, 5, "Loyal"), (3, 4, "Loyal"),
    (5, 3, "Potential loyalist"), (4, 2, "Potential loyalist"), (5, 1, "New"),
    (4, 1, "Promising"), (3, 3, "Need attention"), (3, 1, "About to sleep"),
    (2, 4, "At risk"), (1, 3, "At risk"), (1, 5, "Can't lose"), (2, 5, "Can't lose"),
    (2, 2, "Hibernating"), (1, 2, "Hibernating"), (1, 1, "Lost"),
])
def test_grid(r: int, f: int, name: str) -> None:
    assert rfm_segment_name(r, f) == name


def test_every_cell_has_a_known_segment() -> None:
    names = {rfm_segment_name(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert names == set(RFM_SEGMENTS)


def test_scores_are_quintiles_and_ties_share_a_score() -> None:
    n = 100
    frame = pd.DataFrame({
        "canonical_id": [f"C{i:03d}" for i in range(n)],
        "orders": [0] + [1] * (n - 1),
        "recency_days": list(range(n)),
        "frequency": [0] + [1] * 49 + list(range(2, 52)),
        "monetary": [float(i) for i in range(n)],
    })
    out = rfm_expr(ibis.memtable(frame)).to_pandas().set_index("canonical_id")
    assert pd.isna(out.loc["C000", "r_score"])  # no orders → no scores
    buyers = out.dropna(subset=["r_score"])
    assert sorted(buyers["m_score"].value_counts().tolist()) == [19, 20, 20, 20, 20]
    # 49 customers with one order are tied: they all get the lowest frequency score.
    assert set(buyers.loc[buyers["frequency"] == 1, "f_score"]) == {1}
    # Most recent → highest recency score.
    assert buyers.loc["C001", "r_score"] == 5 and buyers.loc["C099", "r_score"] == 1
    assert buyers.loc["C099", "rfm_segment"] in RFM_SEGMENTS


def test_bins_validated() -> None:
    with pytest.raises(ValueError, match="bins must be between 2 and 10, got 1"):
        rfm_expr(ibis.memtable(pd.DataFrame({"canonical_id": ["a"]})), bins=1)
