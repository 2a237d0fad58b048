"""A model version's development reference: its own PDs on its pooled test + OOT windows.

The windows the version never trained or tuned on (2 + 1 months from the registered version's windows), scored
with the registered bundle on the gold feature rows of those months — the same PDs training measured. Used by
scoring-time stability (PD and WoE-bin PSI against this reference) and by the estimated performance (the
calibrator of the PDs is fitted on these rows and their matured labels, never on the months judged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from kycc.temporal import add_months
from kycc.temporal.windows import TrainingWindows

__all__ = ["LINEAGE_SUFFIX", "ModelReference", "applications_of", "model_reference"]

#: Gold lineage columns (``<feature>_as_of``): not features.
LINEAGE_SUFFIX = "_as_of"


def applications_of(features: ir.Table, months: list[str]) -> pd.DataFrame:
    """Gold feature rows (applications) of ``months`` (ISO dates), lineage columns dropped, in a stable order."""
    if not months:
        return pd.DataFrame()
    date = features["application_date"]
    cond = None
    for m in sorted(set(months)):
        start = pd.Timestamp(m)
        part = (date >= start.to_pydatetime()) & (date < pd.Timestamp(add_months(start, 1)).to_pydatetime())
        cond = part if cond is None else cond | part
    rows = features.filter(cond).to_pandas()
    rows = rows.drop(columns=[c for c in rows.columns if c.endswith(LINEAGE_SUFFIX)])
    rows["application_date"] = pd.to_datetime(rows["application_date"])
    return rows.sort_values(["application_date", "loan_id"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class ModelReference:
    """The reference rows (gold features + ``pd``), their months and a label for the tables."""

    rows: pd.DataFrame
    months: list[str]
    label: str

    @property
    def pd(self) -> pd.Series:
        return self.rows["pd"] if len(self.rows) else pd.Series([], dtype="float64")


def model_reference(card: Any, features: ir.Table) -> ModelReference:
    """The version's PDs of its test + OOT windows' applications (``card``: a registry ``ModelCard``)."""
    windows = TrainingWindows.from_dict(card.windows)
    months = [m.isoformat() for m in (*windows.test.months, *windows.oot.months)]
    rows = applications_of(features, months)
    pds = card.bundle.predict_proba(rows)[:, 1] if len(rows) else []
    rows = rows.assign(pd=pd.Series(pds, index=rows.index, dtype="float64"))
    return ModelReference(rows, months, f"test + OOT windows {months[0][:7]}..{months[-1][:7]}")
