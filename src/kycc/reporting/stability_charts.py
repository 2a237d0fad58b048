"""Charts of scoring-time stability (``out_scoring_stability``, ``out_characteristic_analysis``), pure functions
returning matplotlib figures for the dashboard.

:func:`stability_figure` draws one month: the headline numbers of every scorer (scorecard score PSI and band SSI,
each model's PD PSI) as bars with their sampling floor and the PSI levels, coloured by verdict, beside the
characteristic analysis of the scorecard's largest movers (points shift per feature, score units).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from kycc.monitoring.psi import DEFAULT_LEVELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["VERDICT_COLOURS", "stability_figure"]

VERDICT_COLOURS = {"stable": "#4c9f70", "moderate": "#e0a030", "major": "#c8443c", "undefined": "#9a9a9a"}
HEADLINE = ("score_psi", "band_ssi", "pd_psi")


def _of_month(frame: pd.DataFrame, month: Any) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame()
    dates = pd.to_datetime(frame["snapshot_date"]).dt.to_period("M").dt.to_timestamp()
    return frame.loc[dates == pd.Timestamp(month).to_period("M").to_timestamp()]


def stability_figure(
    stability: pd.DataFrame,
    characteristic: pd.DataFrame,
    month: Any,
    psi_levels: Mapping[str, float] | None = None,
    top_features: int = 8,
) -> Figure:
    """This month's stability: headline PSIs with floor and levels (left), largest characteristic movers (right).

    Args:
        stability: ``out_scoring_stability``.
        characteristic: ``out_characteristic_analysis``.
        month: The scored month to draw.
        psi_levels: The one level set (``psi_levels``); its ``moderate``/``major`` lines are drawn.
        top_features: Features shown in the characteristic analysis (largest absolute score shift first).
    """
    from matplotlib.figure import Figure

    levels = {**DEFAULT_LEVELS, **(psi_levels or {})}
    fig = Figure(figsize=(11, 4.2))
    ax_psi, ax_ca = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
    label = f"{pd.Timestamp(month):%Y-%m}"
    rows = _of_month(stability, month)
    head = rows.loc[rows["family"].isin(HEADLINE)] if len(rows) else rows
    if head.empty:
        ax_psi.text(0.5, 0.5, f"no stability rows for {label}", ha="center", va="center")
        ax_psi.set_axis_off()
    else:
        head = head.sort_values(["scorer_kind", "scorer", "family"]).reset_index(drop=True)
        names = [f"{r.scorer}\n{r.family}" for r in head.itertuples()]
        colours = [VERDICT_COLOURS.get(v, VERDICT_COLOURS["undefined"]) for v in head["verdict"]]
        y = range(len(head))
        ax_psi.barh(list(y), head["value"].fillna(0), color=colours)
        ax_psi.scatter(
            head["floor"], list(y), marker="|", s=300, color="black", label="sampling floor", zorder=3
        )
        ax_psi.axvline(levels["moderate"], color=VERDICT_COLOURS["moderate"], ls="--", lw=1, label="moderate")
        ax_psi.axvline(levels["major"], color=VERDICT_COLOURS["major"], ls="--", lw=1, label="major")
        for i, r in enumerate(head.itertuples()):
            p = "" if pd.isna(r.p_value) else f"p={r.p_value:.2g}"
            ax_psi.text(max(r.value if pd.notna(r.value) else 0, 0) + 0.005, i, f"{r.verdict} {p}", va="center",
                        fontsize=8)  # fmt: skip
        ax_psi.set_yticks(list(y), names, fontsize=8)
        ax_psi.invert_yaxis()
        ax_psi.set_xlabel("PSI vs development reference")
        ax_psi.legend(fontsize=7, loc="lower right")
    ax_psi.set_title(f"Scoring-time stability {label}", fontsize=10)
    ca = _of_month(characteristic, month)
    if ca.empty:
        ax_ca.text(0.5, 0.5, "no characteristic analysis", ha="center", va="center")
        ax_ca.set_axis_off()
    else:
        ca = ca.assign(_abs=ca["score_shift"].abs()).sort_values("_abs", ascending=False).head(top_features)
        colours = [VERDICT_COLOURS.get(v, VERDICT_COLOURS["undefined"]) for v in ca.get("verdict", [])]
        ax_ca.barh(
            [f"{r.scorecard_version}: {r.feature}" for r in ca.itertuples()], ca["score_shift"], color=colours
        )
        ax_ca.axvline(0, color="black", lw=0.8)
        ax_ca.invert_yaxis()
        ax_ca.tick_params(axis="y", labelsize=8)
        ax_ca.set_xlabel("mean score shift from the feature (points x weight, score units)")
    ax_ca.set_title("Characteristic analysis: largest movers", fontsize=10)
    fig.tight_layout()
    return fig
