"""Kedro datasets over the scorecard version store, so that the scorecard pipeline's nodes stay free of I/O.

``ScorecardVersionsDataset`` (``mdl_scorecard_versions``)
    *save*: the versions declared in configuration (``{"versions": {...}, "initial_version": "v1"}``) are stored
    when missing, and the initial version activated in a new store. *load*: a snapshot of the store —
    ``{"active": name, "versions": {name: record}}`` — which the pipeline picks the base version from.

``ScorecardDraftDataset`` (``mdl_scorecard_draft``)
    *save*: a refinement proposal (the blended definition, its calibration, its comparison with the base, the
    model's provenance) becomes the draft ``ml_vN`` in one transaction, with its audit entries. *load*: that
    draft's record and its comparison (so the report carries the version name the store gave it).

``ScorecardCalibrationLogDataset`` (``mdl_scorecard_calibration_log``, save only)
    The calibrations in force that inference fitted for the decided months (``{"version", "calibrations"}``),
    appended to the version's calibrations (append-only, audited); the versions' snapshot
    (``mdl_scorecard_versions``) carries every version's calibration history under ``calibrations``.

All take the store's SQLAlchemy ``url`` (``catalog_scorecard.yml``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from sqlalchemy.engine import make_url

from kycc.scorecard.schema import versions_table
from kycc.scorecard.store import ScorecardStore, redact_url

logger = logging.getLogger(__name__)

__all__ = [
    "ScorecardCalibrationLogDataset",
    "ScorecardDecisionLogDataset",
    "ScorecardDraftDataset",
    "ScorecardVersionsDataset",
]


class _StoreDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    def __init__(self, url: str, metadata: dict[str, Any] | None = None) -> None:
        if not url:
            raise DatasetError(
                "The scorecard store needs a SQLAlchemy url, e.g. sqlite:///data/06_models/scorecard/scorecard.db"
            )
        self._url = str(url)
        self.metadata = metadata

    def _store(self) -> ScorecardStore:
        return ScorecardStore(self._url)

    def _describe(self) -> dict[str, Any]:
        return {"url": redact_url(self._url)}


class ScorecardVersionsDataset(_StoreDataset):
    """Declare configuration versions in the store (save); snapshot of the store (load)."""

    def save(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or "versions" not in data:
            raise DatasetError("ScorecardVersionsDataset saves {'versions': {...}, 'initial_version': name}")
        with self._store() as store:
            store.sync_config_versions(
                data["versions"],
                data.get("initial_version", "v1"),
                actor=data.get("actor") or "config",
            )

    def load(self) -> dict[str, Any]:
        with self._store() as store:
            records = store.list_versions()
            history = {r.version: store.calibration_history(r.version) for r in records}
        active = next((r.version for r in records if r.status == "active"), None)
        return {
            "active": active,
            "versions": {r.version: r.to_dict() for r in records},
            "calibrations": history,
        }

    def _exists(self) -> bool:
        url = make_url(self._url)
        if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
            return False  # do not create an empty database just to answer
        try:
            with self._store() as store:
                return bool(store.counts()[versions_table.name])
        except Exception:  # noqa: BLE001 - an unreachable store does not exist for Kedro
            return False


class ScorecardDraftDataset(_StoreDataset):
    """Store a refinement as a draft version (save); that draft and its comparison (load)."""

    def __init__(self, url: str, metadata: dict[str, Any] | None = None) -> None:
        super().__init__(url, metadata)
        self._saved: tuple[str, int | None] | None = None

    def save(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or "definition" not in data or "base_version" not in data:
            raise DatasetError(
                "ScorecardDraftDataset saves a refinement proposal (definition, base_version, …)"
            )
        with self._store() as store:
            record, comparison_id = store.save_refinement(data)
        self._saved = (record.version, comparison_id)

    def load(self) -> dict[str, Any]:
        with self._store() as store:
            if self._saved is not None:
                name, comparison_id = self._saved
            else:  # a later run: the newest draft created by a refinement
                drafts = [r for r in store.list_versions() if r.source == "refinement"]
                if not drafts:
                    raise DatasetError(
                        "No refined scorecard version in the store yet: run the scorecard pipeline"
                    )
                name, comparison_id = drafts[-1].version, None
            record = store.get(name)
            if comparison_id is not None:
                comparison = store.comparison(comparison_id)
            else:
                comparison = store.latest_comparison(record.base_version or "", name)
            base = store.get(record.base_version).to_dict() if record.base_version else None
        return {"version": record.to_dict(), "base": base, "comparison": comparison}


class ScorecardCalibrationLogDataset(_StoreDataset):
    """Append the calibrations in force fitted by inference to the version's calibrations (save only)."""

    def save(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict) or "calibrations" not in data:
            raise DatasetError(
                "ScorecardCalibrationLogDataset saves {'version': name, 'calibrations': [...]}"
            )
        if not data["calibrations"]:
            return
        with self._store() as store:
            for calibration in data["calibrations"]:
                store.add_calibration(data["version"], calibration, actor=data.get("actor") or "cycle")
        logger.info("Stored %d calibration(s) of scorecard %s", len(data["calibrations"]), data["version"])

    def load(self) -> dict[str, Any]:
        raise DatasetError(
            "mdl_scorecard_calibration_log is write-only: mdl_scorecard_versions reads calibrations"
        )


class ScorecardDecisionLogDataset(_StoreDataset):
    """The decision log (``scorecard_decisions``, append-only): *save* appends the rows of
    :func:`kycc.scorecard.decision_log.log_entries`; *load* returns the log as a frame."""

    def save(self, data: list[dict[str, Any]]) -> None:
        if not isinstance(data, list):
            raise DatasetError("ScorecardDecisionLogDataset saves a list of decision-log rows (log_entries)")
        if not data:
            return
        with self._store() as store:
            ids = store.log_decisions(data)
        logger.info("Decision log: %d decision(s) appended (#%d..#%d)", len(ids), ids[0], ids[-1])

    def load(self) -> Any:
        """The log with the latest override of each decision (``override_decision``, ``override_side``,
        ``overridden_by``, ``override_reason``; empty when none)."""
        with self._store() as store:
            log, overrides = store.decisions_frame(), store.overrides_frame()
        latest = overrides.drop_duplicates("decision_id", keep="last").rename(
            columns={
                "decision": "override_decision",
                "side": "override_side",
                "reason": "override_reason",
                "at": "overridden_at",
            }  # fmt: skip
        )
        keep = [
            "decision_id",
            "override_decision",
            "override_side",
            "overridden_by",
            "override_reason",
            "overridden_at",
        ]
        out = log.merge(latest[keep], left_on="id", right_on="decision_id", how="left")
        return out.drop(columns="decision_id")
