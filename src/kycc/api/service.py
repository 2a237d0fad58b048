"""What the HTTP API does, without HTTP: the project's catalog, models, scorecard store and single-applicant scoring.

Everything is read the way the pipelines read it, through the project's Kedro context and data catalog (one
context per server, created on first use):

* registered models: ``<model>.mdl_registered_model`` (:class:`kycc.registry.read.RegisteredModel`);
* scorecard versions: the scorecard store (:func:`kycc.scorecard.config.open_store`, as ``kycc scorecard``) for
  listing and activating — same rules, same audit log as the CLI;
* scoring one applicant runs the batch inference functions (:func:`kycc.inference.scoring.score_scorecard`,
  :func:`~kycc.inference.scoring.score_with_model`) on a one-row frame, so the API and the batch pipeline give
  the same score, band and probability for the same feature values. What scoring needs (the active scorecard
  version, the champions with their fitted bundles, the open store) is loaded once and kept
  (:mod:`kycc.api.scoring_cache`): the active version is checked on every request, the champion aliases every
  few seconds, and a change is loaded before the request is scored.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kycc.api.config import ApiSettings
from kycc.api.input_rules import FeatureRange, gold_feature_ranges
from kycc.api.scoring_cache import ScoringCache, one_native_thread
from kycc.inference.scoring import score_scorecard, score_with_model
from kycc.temporal import BatchLagViolation, batch_id, to_month

logger = logging.getLogger(__name__)

__all__ = ["FeatureError", "NotFoundError", "ProjectService"]


class NotFoundError(LookupError):
    """An unknown pipeline, model, model version or scorecard version (HTTP 404)."""


class FeatureError(ValueError):
    """The applicant's features do not fit the scorecard or a model (HTTP 422, naming the feature).

    Args:
        problems: ``[(feature, message)]``.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" for f, m in problems))


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def decision_view(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The decision fields of a decision row (batch or logged) with the JSON columns parsed."""
    import json

    def _int(value: Any) -> int | None:
        return None if value is None or pd.isna(value) else int(value)

    return {
        "decision": decision["decision"],
        "decided_by": decision["decided_by"],
        "reason_codes": [c for c in str(decision["reason_codes"] or "").split(",") if c],
        "reasons": json.loads(decision["reasons"] or "[]"),
        "next_band": decision["next_band"] if isinstance(decision["next_band"], str) else None,
        "points_to_next_band": _int(decision["points_to_next_band"]),
        "points_to_approval": _int(decision["points_to_approval"]),
        "approval_changes": json.loads(decision["approval_changes"] or "[]"),
    }


class ProjectService:
    """The project behind the API (see the module docstring)."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._context: Any = None
        self._ranges: dict[str, FeatureRange] | None = None
        self._lock = threading.Lock()
        #: What online scoring keeps between requests (:mod:`kycc.api.scoring_cache`).
        self.scoring = ScoringCache(lambda: self.context, self.open_store)

    # ---------------------------------------------------------------------------------------------------
    # project
    # ---------------------------------------------------------------------------------------------------
    @property
    def context(self) -> Any:
        """The project's Kedro context (its hooks set the MLflow tracking store, as in ``kedro run``)."""
        with self._lock:
            if self._context is None:
                from kycc.project import open_session

                session = open_session(self.settings.project_root, self.settings.env)
                self._context = session.load_context()
                logger.info("API: Kedro context loaded (env %s)", self.settings.env or "default")
            return self._context

    def pipeline_names(self) -> list[str]:
        """The registered pipelines (the project is bootstrapped once, with the context)."""
        from kedro.framework.project import pipelines

        _ = self.context
        return sorted(pipelines.keys())

    def feature_ranges(self) -> dict[str, FeatureRange]:
        """The valid range of each gold feature, from the silver rules of the configuration (read once)."""
        if self._ranges is None:
            self._ranges = gold_feature_ranges(self.context.params)
        return self._ranges

    def pipeline_nodes(self, name: str) -> int:
        from kedro.framework.project import pipelines

        if name not in self.pipeline_names():
            raise NotFoundError(f"Unknown pipeline {name!r}; pipelines: {', '.join(self.pipeline_names())}")
        return len(pipelines[name].nodes)

    # ---------------------------------------------------------------------------------------------------
    # models
    # ---------------------------------------------------------------------------------------------------
    def model_names(self) -> list[str]:
        """The models of ``training.models`` (``model_1``, ``model_2``…)."""
        return list((self.context.params.get("training") or {}).get("models") or {})

    def registered(self, model: str) -> Any:
        return self.context.catalog.load(f"{model}.mdl_registered_model")

    def _resolve_model(self, model_id: str, names: list[str] | None = None) -> str:
        names = self.model_names() if names is None else names
        for name in names:
            if model_id in (name, f"kycc_{name}"):
                return name
        raise NotFoundError(f"Unknown model {model_id!r}; models: {', '.join(names)}")

    def model_info(self, model_id: str, version: int | None = None) -> dict[str, Any]:
        """A registered model version (default: the champion) with windows, metrics and registry aliases."""
        from mlflow import MlflowClient

        model = self._resolve_model(model_id)
        registered = self.registered(model)
        name = registered.registered_model_name
        client = MlflowClient()
        versions = sorted(
            client.search_model_versions(f"name = '{name}'"), key=lambda v: int(v.version), reverse=True
        )
        if not versions:
            raise NotFoundError(f"{model} ({name}) has no registered version yet: run the training pipeline")
        champion = registered.champion_version
        chosen = champion if version is None else int(version)
        if chosen is None:
            raise NotFoundError(
                f"{name} has no @{registered.alias} version (no version passed its quality gates); ask for one "
                f"with ?version=N: {', '.join(str(v.version) for v in versions)}"
            )
        numbers = [int(v.version) for v in versions]
        if int(chosen) not in numbers:
            raise NotFoundError(f"{name} has no version {chosen}; versions: {', '.join(map(str, numbers))}")
        card = registered.version(chosen)
        aliases: dict[int, list[str]] = {n: [] for n in numbers}
        for alias, number in (client.get_registered_model(name).aliases or {}).items():
            aliases.setdefault(int(number), []).append(alias)
        return {
            "model": model,
            "registered_model_name": name,
            "version": card.version,
            "aliases": aliases.get(card.version, []),
            "is_champion": card.version == champion,
            "champion_version": champion,
            "run_id": card.run_id,
            "training_date": card.training_date,
            "windows": card.windows,
            "threshold": card.threshold,
            "metrics": card.metadata.get("metrics", {}),
            "features": card.features,
            "categorical_features": card.categorical,
            "estimator": card.metadata.get("estimator") or card.metadata.get("model_type"),
            "versions": [
                {
                    "version": int(v.version),
                    "aliases": aliases[int(v.version)],
                    "run_id": v.run_id,
                    "created_at": pd.Timestamp(v.creation_timestamp, unit="ms", tz="UTC").isoformat(),
                }
                for v in versions
            ],
        }

    # ---------------------------------------------------------------------------------------------------
    # scorecard
    # ---------------------------------------------------------------------------------------------------
    def open_store(self) -> Any:
        from kycc.scorecard.config import load_scorecard_config, open_store

        config = load_scorecard_config(self.settings.env, self.settings.project_root)
        return open_store(config)

    # ---------------------------------------------------------------------------------------------------
    # scoring one applicant
    # ---------------------------------------------------------------------------------------------------
    def decision(self, decision_id: int) -> dict[str, Any]:
        """A logged decision reproduced from its stored inputs (``kycc decisions show``)."""
        from kycc.scorecard.decision_log import reproduce
        from kycc.scorecard.governance import ScorecardStoreError

        with self.open_store() as store:
            try:
                result = reproduce(store, decision_id)
            except ScorecardStoreError as exc:
                raise NotFoundError(str(exc)) from exc
        logged = result["logged"]
        return {
            "id": logged["id"],
            "identical": result["identical"],
            "differences": result["differences"],
            "logged": {
                **{k: v for k, v in logged.items() if k != "outcome"},
                **decision_view(logged["outcome"]),
            },
            "reproduced": decision_view(result["reproduced"]),
        }

    def score(
        self,
        features: Mapping[str, Any],
        application_date: Any,
        loan_id: str = "api",
        customer_id: str = "api",
        models: list[str] | None = None,
    ) -> dict[str, Any]:
        """Score one applicant: the active scorecard's decision and the champion models' advice.

        Args:
            features: Gold feature values (``docs/feature_dictionary.md``); None = missing.
            application_date: Date of the application (its month is checked against each model's windows).
            loan_id, customer_id: Identifiers echoed back.
            models: Models to ask (default: every model of ``training.models``).

        Raises:
            FeatureError: A feature the scorecard or a champion needs is absent, of the wrong type, not finite or
                outside the range silver accepts (``feature_store.valid_ranges`` …: :mod:`kycc.api.input_rules`).
            NotFoundError: An unknown model name; no active scorecard version.
        """
        state = self.scoring.current()  # cached; the scorecard checked now, the aliases when due
        active, record, definition = state.active, state.record, state.definition
        if not active:
            raise NotFoundError(
                "No active scorecard version: activate one with `kycc scorecard activate` or "
                "POST /api/scoring/versions/{version}/activate"
            )
        names = list(state.registered)
        wanted = names if models is None else [self._resolve_model(m, names) for m in models]
        cards, skipped = [], []
        for model in wanted:
            card = state.models.get(model)
            if card is None:
                name, alias = state.registered[model]
                skipped.append({"model": model, "reason": f"{name} has no @{alias} version"})
            else:
                cards.append(card)

        month = pd.Timestamp(to_month(application_date))
        row = self._frame(
            features, definition, cards, application_date, loan_id, customer_id, self.feature_ranges()
        )
        with one_native_thread():  # one row: nothing to parallelise (kycc.api.scoring_cache)
            decisions = score_scorecard(row, record)
            predictions: dict[str, Any] = {}
            for card in cards:
                try:
                    predictions[card.model] = score_with_model(card, row, decisions, [month]).iloc[0]
                except BatchLagViolation as exc:
                    skipped.append({"model": card.model, "reason": str(exc)})
        decision = decisions.iloc[0]
        advice = []
        for card in cards:
            if card.model not in predictions:
                continue
            prediction = predictions[card.model]
            advice.append(
                {
                    "model": card.model,
                    "registered_model_name": card.registered_model_name,
                    "model_version": card.version,
                    "model_training_date": card.training_date,
                    "probability": float(prediction["probability"]),
                    "prediction": int(prediction["prediction"]),
                    "threshold": card.threshold,
                }
            )
        from kycc.scorecard.decision_log import log_entries

        entries = log_entries(
            decisions,
            row,
            record,
            channel="api",
            model_versions={a["model"]: a["model_version"] for a in advice},
        )
        (decision_id,) = self.scoring.store.log_decisions(entries)
        return {
            "loan_id": loan_id,
            "customer_id": customer_id,
            "application_date": pd.Timestamp(application_date).date().isoformat(),
            "batch_id": batch_id(month),
            "decision": {
                "scorecard_version": active,
                "score": float(decision["score"]),
                "band": str(decision["band"]),
                "pd": _json_number(float(decision["pd"])) if "pd" in decision.index else None,
                **decision_view(decision),
                "decision_id": decision_id,
            },
            "advice": advice,
            "skipped": skipped,
            "ignored_features": sorted(set(features) - set(row.columns)),
        }

    @staticmethod
    def _frame(
        features: Mapping[str, Any],
        definition: Any,
        cards: list[Any],
        application_date: Any,
        loan_id: str,
        customer_id: str,
        ranges: Mapping[str, FeatureRange] | None = None,
    ) -> pd.DataFrame:
        """The one-row frame the batch functions score, after checking every needed feature is there, is a
        number where one is needed and lies in the range silver accepts."""
        categorical: set[str] = set()
        needed: dict[str, str] = {}
        for f in definition.features:
            needed.setdefault(f.name, f"scorecard {definition.version}")
            if f.kind == "categorical":
                categorical.add(f.name)
        for card in cards:
            inputs = list((card.metadata.get("features") or {}).get("features") or card.features)
            for name in inputs:
                needed.setdefault(name, card.label)
            categorical.update(card.categorical)
        problems: list[tuple[str, str]] = []
        values: dict[str, Any] = {}
        for name, who in needed.items():
            if name not in features:
                problems.append((name, f"missing: {who} needs it (null if unknown)"))
                continue
            value = features[name]
            if value is None or name in categorical:
                values[name] = value
            elif isinstance(value, bool) or not isinstance(value, int | float):
                problems.append((name, f"must be a number or null, got {value!r}"))
            else:
                try:
                    number = float(value)
                except OverflowError:
                    number = math.inf
                rule = (ranges or {}).get(name)
                problem = (
                    rule.problem(number)
                    if rule is not None
                    else (None if math.isfinite(number) else f"must be a finite number, got {value!r}")
                )
                if problem:
                    problems.append((name, problem))
                else:
                    values[name] = number
        if problems:
            raise FeatureError(problems)
        # the numbers as one float64 block (NaN for null) built from an array, the categorical columns as a
        # one-row frame of their own (pandas infers their dtype), joined once: no per-feature cast (issue #19)
        numeric = [name for name in needed if name not in categorical]
        parts = [
            pd.DataFrame(
                np.array([[np.nan if values[n] is None else values[n] for n in numeric]], dtype=np.float64),
                columns=numeric,
            )
        ]
        labels = [name for name in needed if name in categorical]
        if labels:
            parts.append(pd.DataFrame([{name: values[name] for name in labels}], columns=labels))
        row = pd.concat(parts, axis=1)[list(needed)] if labels else parts[0]
        row.insert(0, "application_date", pd.Timestamp(application_date))
        row.insert(0, "customer_id", customer_id)
        row.insert(0, "loan_id", loan_id)
        return row
