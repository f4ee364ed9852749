"""The main job runs end to end on a small world and writes a report with real figures."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import pytest
from typer.testing import CliRunner

from growthloop.cli import _register, app
from growthloop.demo import MARKER, run_demo
from growthloop.errors import ConfigError
from growthloop.predict.registry import get_model
from growthloop.workspace import Workspace


def test_demo_end_to_end(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo", customers=300, seed=7)
    loads = {s.entity: s for s in result.loads}
    assert set(loads) == {"products", "customers", "orders", "events"}
    assert loads["customers"].rows_loaded == 300
    orders = loads["orders"]
    c = orders.counts
    assert orders.rows_read == (
        c["sales"]
        + c["guest_sales"]
        + c["returns"]
        + c["non_product"]
        + c["rejected"]
        + c["duplicates"]
        + c["already_loaded"]
    )
    assert c["returns"] > 0 and c["guest_sales"] > 0
    # The world is dirty on purpose: the report must show what was rejected.
    assert orders.rows_rejected > 0
    html = result.report.read_text()
    assert html.count("<svg") >= 5
    assert result.profiles == 300
    assert "Customer profiles and RFM segments" in html and "RFM grid" in html
    assert set(result.segments) == {"engaged-browsers", "vip-at-risk"}
    assert all(0 < n < 300 for n in result.segments.values())
    assert "Rule segments" in html and "engaged-browsers" in html
    assert result.clusters >= 2 and "Customer clusters" in html
    customers = re.search(r"<b>([\d,]+)</b><span>customers</span>", html)
    assert customers is not None and int(customers.group(1).replace(",", "")) <= 300
    assert f'<td>orders.parquet</td><td>orders</td><td class="n">{orders.rows_read:,}</td>' in html
    # Predictions: churn trained on a temporal split and scored; the section shows its figures.
    churn = result.churn
    assert set(churn["test_roc_auc"]) == {"lightgbm", "logistic", "rfm_baseline"}
    assert 0 < churn["scored"] <= 300 and 0 < churn["mean_churn_risk"] < 1
    assert "Predictions: churn risk" in html
    auc = churn["test_roc_auc"][churn["chosen"]]
    assert auc > 0.75 and f"<b>{auc:.3f}</b><span>ROC-AUC (test)</span>" in html
    assert f"<b>{churn['scored']:,}</b><span>customers scored (churn_risk)</span>" in html
    deciles = re.findall(
        r'<tr><td>(\d+)</td><td class="n">([\d,]+)</td><td class="n">([\d.]+) %</td>'
        r'<td class="n">([\d.]+) %</td></tr>',
        html,
    )
    assert [int(d[0]) for d in deciles] == list(range(1, 11))
    predicted = [float(d[2]) for d in deciles]
    actual = [float(d[3]) for d in deciles]
    assert predicted == sorted(predicted, reverse=True)
    # The riskiest decile churns far more often than the safest one.
    assert actual[0] - actual[-1] > 40
    # CLV: trained with the first half of the year as calibration, scored; the section's figures
    # are the scores table's and the registry's.
    clv = result.clv
    assert "skipped" not in clv, clv.get("skipped")
    assert clv["holdout"]["calibration_end"] == "2024-06-30"
    assert 0 < clv["scored"] <= 300 and 0 < clv["mean_p_alive"] < 1
    assert "Predictions: customer lifetime value" in html
    with Workspace.open(result.workspace) as ws:
        total, scored = ws.analytical.con.execute(
            "SELECT sum(score), count(*) FROM scores WHERE model = 'clv' AND profile_column = 'clv'"
        ).fetchone()
        model = get_model(ws.operational, "clv")
    assert scored == clv["scored"]
    assert f"<b>{total:,.2f}</b><span>total predicted CLV</span>" in html
    assert f'<tr><td>total</td><td class="n">{total:,.2f}</td></tr>' in html
    assert f"<b>{scored:,}</b><span>buyers scored (clv)</span>" in html
    by_segment = html[html.index('<table class="clv-segments">') :].split("</table>")[0]
    segment_rows = re.findall(
        r'<tr><td>([^<]+)</td><td class="n">([\d,]+)</td><td class="n">([\d,.]+)</td>',
        by_segment,
    )
    assert sum(int(n.replace(",", "")) for _, n, _ in segment_rows) == scored
    assert sum(float(v.replace(",", "")) for _, _, v in segment_rows) == pytest.approx(
        total, abs=0.01 * len(segment_rows)
    )
    metrics = model.metrics
    actual, predicted = (
        metrics["holdout_purchases_actual_total"],
        metrics["holdout_purchases_predicted_total"],
    )
    assert actual == clv["holdout"]["actual_total"]
    assert predicted == clv["holdout"]["predicted_total"]
    assert (
        f'<tr><td>repeat purchases, total</td><td class="n">{actual:,.0f}</td>'
        f'<td class="n">{predicted:,.0f}</td>'
        f'<td class="n">{100 * metrics["holdout_purchases_total_error"]:+.1f} %</td></tr>'
    ) in html
    r = model.params["transaction"]["params"]["r"]
    r_error = model.params["transaction"]["std_errors"]["r"]
    assert (
        f'<tr><td>BG/NBD</td><td>r</td><td class="n">{r:.4g}</td><td class="n">{r_error:.3g}</td>'
    ) in html
    assert f'title="{model.data_fingerprint}"' in html
    # Recommendations: the held-out tables under both policies, the recall of the planted
    # preferences (the pipeline well above popularity) and examples with their reasons.
    rec = result.recommendations
    assert "skipped" not in rec, rec.get("skipped")
    assert '<section id="recommendations">' in html
    for policy in ("allowed", "excluded"):
        ndcg = rec["held_out"][policy]["pipeline"]["ndcg"]
        assert 0 < ndcg <= 1 and f"<b>{ndcg:.3f}</b><span>NDCG@10, bought {policy}</span>" in html
        assert f'<table class="recommend-eval" data-policy="{policy}">' in html
    truth = rec["truth"]["recall_at_10"]
    assert truth["pipeline"] >= 2 * truth["popular"] > 0
    assert (
        f'<tr style="font-weight: 600"><td>pipeline (full pipeline)</td>'
        f'<td class="n">{truth["pipeline"]:.3f}</td>'
    ) in html
    assert f'<td>popular (baseline)</td><td class="n">{truth["popular"]:.3f}</td>' in html
    examples = rec["examples"]
    assert len({e["customer_id"] for e in examples}) >= 3
    assert all(e["title"] and e["reason"] for e in examples)
    assert all(escape(e["title"]) in html and escape(e["reason"]) in html for e in examples)
    # Running it again replaces the previous demo.
    again = run_demo(tmp_path / "demo", customers=300, seed=7)
    assert [s.rows_loaded for s in again.loads] == [s.rows_loaded for s in result.loads]


def test_demo_refuses_a_folder_it_did_not_create(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="is not a growthloop demo folder"):
        run_demo(tmp_path, customers=50)
    assert (tmp_path / "precious.txt").exists() and not (tmp_path / MARKER).exists()


def test_demo_cli_json(tmp_path: Path) -> None:
    _register()
    out = CliRunner().invoke(
        app, ["demo", "--dir", str(tmp_path / "d"), "--customers", "100", "--json"]
    )
    assert out.exit_code == 0, out.stdout
    import json

    result = json.loads(out.stdout)
    assert Path(result["report"]).is_file()
    assert result["stage_seconds"]["total"] > 0
    # 100 customers are too few for the churn model's snapshots: skipped, with the reason.
    assert "needs at least 100" in result["churn"]["skipped"]
    # CLV needs only ten repeat buyers: it is trained and scored.
    assert 0 < result["clv"]["scored"] <= 100 and result["clv"]["holdout"] is not None
