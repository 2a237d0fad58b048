"""The vintage-curve chart of the early read (a matplotlib ``Figure``, no pyplot state).

Takes ``out_vintages`` as pandas (``catalog.load("out_vintages").to_pandas()``); an empty table gives a figure
that says there is nothing to show yet, never an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["vintage_curves_figure"]


def vintage_curves_figure(vintages: pd.DataFrame, last_cohorts: int = 12) -> Figure:
    """Share of each application cohort at the label's DPD threshold by MOB, with its 95 % interval.

    One line per cohort (the ``last_cohorts`` latest, later cohorts darker), the Wilson interval as a band, and
    each open cohort's latest projection of its final default rate as a hollow marker at the final MOB.

    Args:
        vintages: The vintage table (``kycc.monitoring.vintages.VINTAGE_SCHEMA``), as pandas.
        last_cohorts: How many of the latest cohorts to draw.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.8), layout="constrained")
    if vintages is None or vintages.empty:
        ax = fig.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "No vintage yet: the loan tape has no MOB-1 snapshot.", ha="center", va="center")
        return fig
    frame = vintages.assign(cohort=pd.to_datetime(vintages["cohort"])).sort_values(["cohort", "mob"])
    cohorts = sorted(frame["cohort"].unique())[-last_cohorts:]
    final_mob = int(frame["mob"].max())
    label = str(frame["label_def"].iloc[0]) if "label_def" in frame else ""
    ax = fig.subplots()
    for i, cohort in enumerate(cohorts):
        part = frame[frame["cohort"] == cohort]
        shade = 0.25 + 0.75 * (i + 1) / len(cohorts)
        color = (0.08 * shade, 0.4 * shade, 0.75 * shade + 0.1)
        ax.plot(part["mob"], 100 * part["bad_rate"], marker="o", ms=3, lw=1.2, color=color,
                label=f"{pd.Timestamp(cohort):%Y-%m}")  # fmt: skip
        ax.fill_between(part["mob"], 100 * part["bad_rate_low"], 100 * part["bad_rate_high"], color=color,
                        alpha=0.08, lw=0)  # fmt: skip
        if final_mob not in set(part["mob"]):
            projected = part.dropna(subset=["projected_default_rate"])
            if not projected.empty:
                ax.plot([final_mob], [100 * projected["projected_default_rate"].iloc[-1]], marker="o", ms=7,
                        mfc="none", mec=color, mew=1.5)  # fmt: skip
    ax.set_xlabel("months on book (MOB)")
    ax.set_ylabel("share of the cohort, %")
    ax.set_xticks(range(1, final_mob + 1))
    ax.set_title(
        f"Vintage curves ({label}); hollow marker: projected final rate of an open cohort", fontsize=10
    )
    ax.grid(alpha=0.3)
    ax.legend(title="application cohort", fontsize=7, ncol=2, loc="upper left", frameon=False)
    return fig
