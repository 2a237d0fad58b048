"""The stability chart the dashboard embeds: a real matplotlib figure of one month, levels from the one set."""

from __future__ import annotations

import io

import pandas as pd
from matplotlib.figure import Figure

from kycc.reporting.stability_charts import stability_figure

MONTH = pd.Timestamp("2024-09-01")


def _rows():
    base = {
        "snapshot_date": MONTH,
        "n_ref": 2400,
        "n_now": 400,
        "bins": 10,
        "floor": 0.026,
        "reference": "dev",
    }
    return pd.DataFrame(
        [
            {**base, "scorer": "scorecard:v1", "scorer_kind": "scorecard", "version": "v1", "family": "score_psi",
             "feature": "", "value": 0.14, "p_value": 1e-6, "verdict": "moderate"},
            {**base, "scorer": "scorecard:v1", "scorer_kind": "scorecard", "version": "v1", "family": "band_ssi",
             "feature": "", "value": 0.05, "p_value": 0.2, "verdict": "stable"},
            {**base, "scorer": "model_1", "scorer_kind": "model", "version": "3", "family": "pd_psi",
             "feature": "", "value": 0.31, "p_value": 1e-12, "verdict": "major"},
        ]
    )  # fmt: skip


def _analysis():
    return pd.DataFrame(
        {
            "snapshot_date": [MONTH] * 3,
            "scorecard_version": ["v1"] * 3,
            "feature": ["credit_utilization_ratio", "annual_income", "age"],
            "score_shift": [-6.0, -2.5, 0.3],
            "verdict": ["major", "moderate", "stable"],
        }
    )


def test_stability_figure_draws_the_month_with_the_level_lines():
    fig = stability_figure(_rows(), _analysis(), "2024-09-01", {"moderate": 0.12, "major": 0.3})
    assert isinstance(fig, Figure)
    ax_psi, ax_ca = fig.axes[:2]
    assert len(ax_psi.patches) == 3 and len(ax_ca.patches) == 3
    vertical = sorted(round(line.get_xdata()[0], 3) for line in ax_psi.get_lines())
    assert vertical == [0.12, 0.3]
    assert "2024-09" in ax_psi.get_title()
    fig.savefig(io.BytesIO(), format="png")


def test_stability_figure_of_a_month_without_rows():
    fig = stability_figure(_rows(), _analysis(), "2024-10-01")
    assert "no stability rows for 2024-10" in [t.get_text() for t in fig.axes[0].texts]
