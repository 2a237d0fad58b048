"""``kycc backfill``: the monthly cycle over a range of months, as Kedro sessions (catch-up or one month at a time).

The orchestration of the seeds' Airflow DAG (catch-up enabled) on Kedro: each step is a ``KedroSession`` run
of a project pipeline with the month as runtime parameters; each unmet condition is a logged skip (the DAG's
ShortCircuit operators), recorded per month in ``data/08_reporting/cycle/months/YYYY-MM.json`` and shown in
the summary table. See :mod:`kycc.cycle.schedule` for the order and the conditions.

Catch-up runs the data pipelines once over the whole range (identical to month-by-month, tested by the data
pipelines), then the months in order. Months where nothing but the scorecard can run (no champion yet, no
training due) are scored together in one inference run, which gives the same per-month results.

A ``recalibrate`` decision in ``M - 1`` runs the ``recalibration`` pipeline at ``M`` (after training, before
inference; :func:`_recalibration`): recorded under ``recalibration`` in the month record and as ``R vN`` in the
summary's training column.

Re-running is idempotent: a month whose record says it is done is kept as it is — no training, inference,
monitoring or actions again, so no new model version or MLflow metric, and its decisions and predictions stay
those made at the time (decisions are history). ``retrain=True`` (``kycc backfill --retrain``) processes such
months again (training on its schedule, monitoring, actions); their decisions and predictions are still kept.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kycc.cycle.schedule import (
    CycleSettings,
    decide_training,
    recalibrate_decided,
    retrain_decided,
    seed_months,
    trainable,
)
from kycc.cycle.summary import format_figures, format_summary
from kycc.params.sections import deep_merge
from kycc.temporal import add_months, month_range, to_month, violates_batch_lag
from kycc.temporal.months import format_months

logger = logging.getLogger(__name__)

__all__ = ["CycleReport", "run_backfill"]

DATA_PIPELINES = [
    "label_store",
    "early_read",
    "feature_store",
    "model_input",
]  # early_read: vintages, roll rates
#: A month no model can be monitored in yet: inference, stability and the scorecard's own monitoring (band
#: backtest of the deciding version, estimated performance) — the nodes of those pipelines with these tags.
SCORING_PIPELINES = ["inference", "stability", "monitoring"]
SCORING_TAGS = ["inference", "stability", "scorecard_monitoring"]


@dataclass
class CycleReport:
    """What a backfill did: the month records (every month of the cycle log), outputs and timings."""

    months: list[str]
    records: list[dict[str, Any]]
    models: list[str]
    dashboard: str | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)  # months of the range already done, kept as recorded
    figures: str = ""  # the monitoring figures of the whole cycle (summary.format_figures)

    def table(self) -> str:
        table = format_summary(self.records, self.models)
        return f"{table}\n\n{self.figures}" if self.figures else table


def _iso(month: Any) -> str | None:
    return None if month in (None, "") else to_month(month).isoformat()


class _Project:
    """Runs pipelines of the project in fresh ``KedroSession``s (a session runs once) and reads its catalog."""

    def __init__(
        self, project_path: Path, env: str | None, params: Mapping[str, Any], conf_source: str | None
    ):
        from kycc.project import bootstrap

        self.project_path = Path(project_path)
        self.env = env
        self.params = dict(params or {})
        self.conf_source = conf_source
        self.timings: dict[str, float] = {}
        bootstrap(self.project_path)
        _reset_mlflow_plugin()  # a session run earlier in this process must not leak its MLflow run into ours
        # kedro-viz's run hook warns on every partial run (each step here is one): noise in a cycle
        logging.getLogger("kedro_viz.integrations.kedro.run_hooks").setLevel(logging.ERROR)

    def _session(self, params: Mapping[str, Any] | None = None):
        from kycc.project import open_session

        return open_session(
            self.project_path,
            self.env,
            deep_merge(self.params, params or {}),
            self.conf_source,
            bootstrapped=True,
        )

    def run(
        self, pipelines: list[str], params: Mapping[str, Any] | None = None, node_names=None, tags=None
    ) -> float:
        started = time.perf_counter()
        try:
            with self._session(params) as session:
                session.run(pipeline_names=pipelines, node_names=node_names, tags=tags)
        finally:
            _reset_mlflow_plugin()
        seconds = time.perf_counter() - started
        key = "+".join(pipelines)
        self.timings[key] = self.timings.get(key, 0.0) + seconds
        return seconds

    def context(self):
        with self._session() as session:
            return session.load_context()


def _reset_mlflow_plugin() -> None:
    """End the MLflow run a session left open and forget its id in kedro-mlflow's hook (one per process).

    kedro-mlflow 2.0.3 keeps the last run id on its module-level hook and re-opens that run before every node of
    the next session — even a session with tracking off (the data pipelines), and even when the tracking store
    changed. Several sessions in one process (this cycle) would log into, or fail to find, a stale run.
    """
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
    try:
        from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook
    except ImportError:  # pragma: no cover - plugin not installed
        return
    mlflow_hook.run_id = None


class _State:
    """Reads the durable state the schedule depends on, through the project's catalog."""

    def __init__(self, context, models: list[str]):
        self.catalog = context.catalog
        self.params = context.params
        self.models = models
        self._model_input: pd.DataFrame | None = None  # built once by the data step, read for every month

    def months_of(self, name: str) -> list[dt.date]:
        dataset = self.catalog.get(name)
        if dataset is None or not hasattr(dataset, "months"):
            return []
        return sorted(to_month(f"{m}-01") for m in dataset.months() if m[:1].isdigit())

    def labelled_months_before(self, month: dt.date) -> list[dt.date]:
        contract = self.params.get("training", {}).get("data_contract", {})
        date_col = contract.get("date_column", "application_date")
        label_date = contract.get("label_date_column")
        if self._model_input is None:
            try:
                self._model_input = self.catalog.load("mdl_model_input")
            except Exception as err:  # noqa: BLE001 - no model input yet: nothing is trainable
                logger.debug("model input not readable: %s", err)
                return []
        frame = self._model_input
        if frame.empty:
            return []
        if label_date and label_date in frame.columns:
            frame = frame.loc[pd.to_datetime(frame[label_date]) < pd.Timestamp(month)]
        return sorted({to_month(d) for d in pd.to_datetime(frame[date_col])})

    def registered(self, model: str):
        return self.catalog.load(f"{model}.mdl_registered_model")

    def champions(self) -> dict[str, Any]:
        """Model → champion card (models without champion left out)."""
        out = {}
        for model in self.models:
            card = self.registered(model).champion
            if card is not None:
                out[model] = card
        return out

    def retrain_requested(self, month: dt.date) -> list[str]:
        """Models whose action in ``month`` was ``retrain`` (when actions.trigger_training allows it)."""
        if not self.params.get("actions", {}).get("trigger_training", False):
            return []
        return [
            m for m in self.models if retrain_decided(self.catalog.load(f"{m}.out_action_decisions"), month)
        ]

    def recalibrate_requested(self, month: dt.date) -> list[str]:
        """Models whose action in ``month`` was ``recalibrate`` (when actions.trigger_recalibration allows it)."""
        if not self.params.get("actions", {}).get("trigger_recalibration", False):
            return []
        return [
            m
            for m in self.models
            if recalibrate_decided(self.catalog.load(f"{m}.out_action_decisions"), month)
        ]

    def records(self) -> dict[str, dict[str, Any]]:
        try:
            partitions = self.catalog.load("rpt_cycle_months")
        except Exception:  # noqa: BLE001 - no record yet
            return {}
        return {key: load() for key, load in sorted(partitions.items())}


def _last_training(records: Mapping[str, Mapping[str, Any]], month: dt.date) -> dt.date | None:
    done = [
        to_month(r["month"])
        for r in records.values()
        if to_month(r["month"]) < month and (r.get("training") or {}).get("status") == "ran"
    ]
    return max(done) if done else None


def _skip(reason: str) -> dict[str, Any]:
    return {"status": "skipped", "reason": reason}


def _done(record: Mapping[str, Any] | None) -> bool:
    """A month is done when its record exists: it is saved only once every step of the month ran or skipped."""
    return bool(record) and (record.get("inference") or {}).get("status") == "ran"


def _select_months(start: Any, end: Any, data_months: list[dt.date]) -> list[dt.date]:
    """``start..end``; an open side runs to the first / last month with data."""
    if start is not None and end is not None:
        return month_range(start, end)
    first = to_month(start) if start is not None else None
    last = to_month(end) if end is not None else None
    return [m for m in data_months if (first is None or m >= first) and (last is None or m <= last)]


def _configured_models(project: _Project) -> list[str]:
    from kycc.pipelines.training.pipeline import configured_models

    conf = project.conf_source or str(project.project_path / "conf")
    return configured_models(conf_source=conf, env=project.env)


def run_backfill(
    start: Any = None,
    end: Any = None,
    *,
    project_path: str | Path | None = None,
    env: str | None = None,
    params: Mapping[str, Any] | None = None,
    conf_source: str | None = None,
    run_data: bool = True,
    retrain: bool = False,
) -> CycleReport:
    """Run the monthly cycle for every month from ``start`` to ``end`` (both included).

    Args:
        start, end: First and last month (``YYYY-MM-01``). None: from the first / to the last month with data.
        project_path: The Kedro project (default: the current directory's project).
        env: Kedro environment (default: the project's default run environment).
        params: Extra runtime parameters for every session (nested dict, like ``kedro run --params``).
        conf_source: Another configuration folder.
        run_data: Run the data pipelines first (False: the gold tables are already built for the range).
        retrain: Process months already done again (training on its schedule, monitoring, actions); their
            decisions and predictions are kept either way.

    Returns:
        The cycle report (month records of the whole cycle log, the dashboard path, timings).
    """
    started = time.perf_counter()
    if start is not None and end is not None and to_month(end) < to_month(start):
        raise ValueError(f"--end {end} is before --start {start}")
    project = _Project(Path(project_path or Path.cwd()), env, params or {}, conf_source)
    if run_data:
        logger.info("cycle: data pipelines (%s) for %s .. %s", ", ".join(DATA_PIPELINES),
                    _iso(start) or "every month", _iso(end) or "")  # fmt: skip
        project.run(DATA_PIPELINES, {"run": {"start_month": _iso(start), "end_month": _iso(end)}})
    models = _configured_models(project)
    state = _State(project.context(), models)
    settings = CycleSettings.from_params(state.params.get("cycle"))
    feature_months = state.months_of("feat_gold_features")
    data_months = sorted(set(feature_months) | set(state.months_of("feat_gold_labels")))
    months = _select_months(start, end, data_months)
    if not months:
        raise ValueError(
            "No month to process: the gold tables are empty (is data/01_raw empty?)"
            if not data_months
            else f"No month with data in {_iso(start) or 'the first month'} .. {_iso(end) or 'the last month'} "
            f"(data: {format_months(data_months)})"
        )
    lag = int(state.params.get("monitoring", {}).get("label_lag_months", 6))
    windows_params = state.params.get("training", {}).get("windows", {})
    existing = state.records()
    if retrain:
        kept: list[dt.date] = []
        records = {k: v for k, v in existing.items() if to_month(f"{k}-01") not in set(months)}
    else:
        kept = [m for m in months if _done(existing.get(f"{m:%Y-%m}"))]
        records = dict(existing)
    if kept:
        logger.info(
            "cycle: %s already done: kept as recorded (decisions, predictions, models, metrics); "
            "`kycc backfill --retrain` processes them again",
            format_months(kept),
        )
    pending: list[dict[str, Any]] = []

    def flush() -> None:
        if not pending:
            return
        first, last = pending[0]["month"], pending[-1]["month"]
        window = {"start_month": first, "end_month": last}
        seconds = project.run(
            SCORING_PIPELINES,
            {"inference": {**window, "models": None}, "stability": window, "monitoring": window},
            tags=SCORING_TAGS,
        )
        summary = state.catalog.load("rpt_inference_summary")
        per_month = _decisions_per_month(state)
        for record in pending:
            decided = per_month.get(record["month"], {"applications": 0, "bands": {}})
            record["inference"] = {
                "status": "ran",
                "scorecard": {"scorecard_version": summary["scorecard"]["scorecard_version"], **decided},
                "models": {m["model"]: m for m in summary["models"]},
            }
            record["stability"] = _stability_record(state, record["month"])
            record["scorecard_monitoring"] = _scorecard_record(state, record["month"], lag)
            record["seconds"] = round(seconds / len(pending), 2)
            _save(state, record)
            records[record["month"][:7]] = record
        pending.clear()

    for month in months:
        if month in kept:
            flush()  # the months before a kept one are scored before it (the order of the cycle)
            continue
        iso = month.isoformat()
        t0 = time.perf_counter()
        record: dict[str, Any] = {"month": iso}
        can_train, why_not = trainable(month, windows_params, state.labelled_months_before(month))
        decision = decide_training(
            month, settings, can_train, why_not, _last_training(records, month),
            state.retrain_requested(add_months(month, -1)),
        )  # fmt: skip
        champions = state.champions()
        cohort = add_months(month, -lag)
        monitorable = [m for m in models if cohort in set(state.months_of(f"{m}.out_predictions"))]
        if not decision.train and not champions and not monitorable:
            record["training"] = _skip(decision.reason)
            record["monitoring"] = _skip(f"no predictions for {cohort:%Y-%m} ({lag} months earlier)")
            record["actions"] = _skip("nothing monitored")
            logger.info("cycle %s: training skipped (%s); no champion yet: scorecard decisions only",
                        f"{month:%Y-%m}", decision.reason)  # fmt: skip
            pending.append(record)
            continue
        flush()
        if decision.train:
            logger.info("cycle %s: training (%s)", f"{month:%Y-%m}", decision.reason)
            project.run(["training"], {"training": {"training_date": iso}})
            record["training"] = _training_record(state, models, decision.reason, month)
            champions = state.champions()
            record["seed_backfill"] = _seed_backfill(
                project, state, settings, month, champions, feature_months
            )
        else:
            logger.info("cycle %s: training skipped (%s)", f"{month:%Y-%m}", decision.reason)
            record["training"] = _skip(decision.reason)
        record["recalibration"] = _recalibration(project, state, month)
        monitorable = [m for m in models if cohort in set(state.months_of(f"{m}.out_predictions"))]
        # the scorecard's monitoring runs every month; the models' monitoring and actions once one is monitorable
        pipelines, tags = (
            ([*SCORING_PIPELINES, "actions"], None) if monitorable else (SCORING_PIPELINES, SCORING_TAGS)
        )
        window = {"start_month": iso, "end_month": iso}
        # a champion trained on this month (a range run after a later one) leaves it to the others: a logged skip
        lagged = {m: w for m, card in champions.items() if (w := violates_batch_lag(card.windows, month))}
        if lagged:
            logger.warning("cycle %s: %s not scored: the month is in their train/validation windows",
                           f"{month:%Y-%m}", ", ".join(f"{m} ({w})" for m, w in lagged.items()))  # fmt: skip
        selected = [m for m in models if m not in lagged] if lagged else None
        project.run(
            pipelines,
            {
                "inference": {**window, "models": selected},
                "stability": window,
                "monitoring": window,
                "actions": window,
            },
            tags=tags,
        )
        record["inference"] = _inference_record(state, record.get("seed_backfill"), iso)
        record["stability"] = _stability_record(state, iso)
        record["scorecard_monitoring"] = _scorecard_record(state, iso, lag)
        if monitorable:
            record["monitoring"], record["actions"] = _monitoring_records(state, models, month)
        else:
            record["monitoring"] = _skip(f"no predictions for {cohort:%Y-%m} ({lag} months earlier)")
            record["actions"] = _skip("nothing monitored")
        record["seconds"] = round(time.perf_counter() - t0, 2)
        _save(state, record)
        records[iso[:7]] = record
    flush()

    # fair lending re-reports every decided month (adverse impact, override rates), then the dashboard shows it
    decided = bool(state.months_of("out_scorecard_decisions"))
    logger.info("cycle: %sreporting (charts and dashboard)", "fair lending, " if decided else "")
    project.run(["fair_lending", "reporting"] if decided else ["reporting"])
    dashboard = state.catalog.get("rpt_monitoring_dashboard")._describe().get("filepath")
    all_records = [records[k] for k in sorted(records)]
    report = CycleReport(
        months=[m.isoformat() for m in months],
        records=all_records,
        models=models,
        dashboard=str(dashboard) if dashboard else None,
        seconds=time.perf_counter() - started,
        timings=dict(project.timings),
        kept=[m.isoformat() for m in kept],
        figures=_figures(state),
    )
    state.catalog.save("rpt_cycle_summary", report.table() + "\n")
    logger.info("cycle: %d month(s) in %.1fs; dashboard %s", len(months), report.seconds, report.dashboard)
    return report


def _load_if_exists(state: _State, name: str) -> Any:
    """A dataset's data, or None when nothing is stored yet (or, for the manifest, the world was not generated)."""
    return state.catalog.load(name) if state.catalog.exists(name) else None


def _figures(state: _State) -> str:
    """The cycle's monitoring figures (drift flags, estimated-AUC error, early-read projection error)."""
    return format_figures(
        _load_if_exists(state, "raw_generation_manifest"),
        _load_if_exists(state, "out_scoring_stability"),
        _load_if_exists(state, "out_estimated_performance"),
        _load_if_exists(state, "rpt_early_read"),
    )


def _save(state: _State, record: dict[str, Any]) -> None:
    state.catalog.save("rpt_cycle_months", {record["month"][:7]: record})


def _decisions_per_month(state: _State) -> dict[str, dict[str, Any]]:
    """Applications decided and their bands, per month (from the decision table)."""
    decisions = state.catalog.load("out_scorecard_decisions")
    if decisions.empty:
        return {}
    out = {}
    for month, part in decisions.groupby(pd.to_datetime(decisions["snapshot_date"]).dt.strftime("%Y-%m-%d")):
        bands = part["band"].value_counts().sort_index()
        out[month] = {"applications": len(part), "bands": {str(k): int(v) for k, v in bands.items()}}
    return out


def _training_record(state: _State, models: list[str], reason: str, month: dt.date) -> dict[str, Any]:
    outcomes = {}
    for model in models:
        o = state.catalog.load(f"mdl_registry_result_{model}")
        outcomes[model] = {
            k: o.get(k)
            for k in ("status", "version", "champion", "champion_version", "candidate_value", "reason")
        }
        outcomes[model]["gate_reasons"] = o.get("gate_reasons") or []
    return {"status": "ran", "reason": reason, "training_date": month.isoformat(), "models": outcomes}


def _recalibration(project: _Project, state: _State, month: dt.date) -> dict[str, Any]:
    """Carry out the ``recalibrate`` decisions of ``month - 1`` (pipeline ``recalibration``), before inference."""
    decided = add_months(month, -1)
    requested = state.recalibrate_requested(decided)
    if not requested:
        return _skip(f"no recalibrate decision in {decided:%Y-%m}")
    logger.info("cycle %s: recalibration (recalibrate decided %s: %s)", f"{month:%Y-%m}", f"{decided:%Y-%m}",
                ", ".join(requested))  # fmt: skip
    project.run(
        ["recalibration"],
        {
            "recalibration": {
                "month": month.isoformat(),
                "decided_month": decided.isoformat(),
                "models": requested,
            }
        },
    )
    summary = state.catalog.load("rpt_recalibration_summary")
    keys = ("status", "source_version", "version", "champion", "method", "cohorts", "n_samples", "n_defaults",
            "fitting_rows_before", "fitting_rows_after", "reason")  # fmt: skip
    models = {
        m: {k: r.get(k) for k in keys if k in r}
        for m, r in (summary.get("models") or {}).items()
        if m in requested
    }
    scorecard = summary.get("scorecard") or {}
    ran = any(r.get("status") in {"ran", "kept"} for r in models.values())
    return {
        "status": "ran" if ran else "skipped",
        **({} if ran else {"reason": "; ".join(f"{m}: {r.get('reason')}" for m, r in models.items())}),
        "decided_month": decided.isoformat(),
        "models": models,
        "scorecard": {
            k: scorecard.get(k) for k in ("status", "version", "reason", "calibration") if k in scorecard
        },
    }


def _seed_backfill(
    project: _Project,
    state: _State,
    settings: CycleSettings,
    month: dt.date,
    champions: Mapping[str, Any],
    feature_months: list[dt.date],
) -> dict[str, Any]:
    """Score the months before a model's first training (those its batch-lag rule allows)."""
    if not settings.seed_backfill_months:
        return _skip("cycle.seed_backfill_months is 0")
    plans: dict[tuple[dt.date, dt.date], list[str]] = {}
    notes = {}
    for model, card in champions.items():
        before = [m for m in state.months_of(f"{model}.out_predictions") if m < month]
        if before:
            notes[model] = f"already scoring since {before[0]:%Y-%m}"
            continue
        candidates = seed_months(month, settings.seed_backfill_months, feature_months)
        allowed = [m for m in candidates if violates_batch_lag(card.windows, m) is None]
        refused = [m for m in candidates if m not in allowed]
        if refused:
            logger.warning("cycle %s: seed backfill of %s leaves out %s (in its train/validation windows)",
                           f"{month:%Y-%m}", model, ", ".join(f"{m:%Y-%m}" for m in refused))  # fmt: skip
        if not allowed:
            notes[model] = "no month to seed"
            continue
        plans.setdefault((allowed[0], allowed[-1]), []).append(model)
    if not plans:
        return _skip("; ".join(f"{k}: {v}" for k, v in notes.items()) or "no champion")
    done = {}
    for (first, last), seed_models in plans.items():
        logger.info("cycle %s: seed backfill %s..%s for %s", f"{month:%Y-%m}", f"{first:%Y-%m}",
                    f"{last:%Y-%m}", ", ".join(seed_models))  # fmt: skip
        project.run(
            ["inference", "stability"],
            {
                "inference": {
                    "start_month": first.isoformat(),
                    "end_month": last.isoformat(),
                    "models": seed_models,
                },
                # the seeded months get their models' PD stability (the scorecard rows are recomputed alike)
                "stability": {"start_month": first.isoformat(), "end_month": last.isoformat()},
            },
        )
        for model in seed_models:
            done[model] = {"start_month": first.isoformat(), "end_month": last.isoformat()}
    return {"status": "ran", "models": done, "notes": notes}


def _stability_record(state: _State, month: str) -> dict[str, Any]:
    """The month's scoring-time stability status per scorer (``rpt_stability_summary`` of the last run)."""
    status = (state.catalog.load("rpt_stability_summary").get("status") or {}).get(month[:7])
    if not status:
        return _skip("not compared (a month of the reference window, or nothing decided)")
    return {"status": "ran", "scorers": status}


def _number(value: Any, digits: int = 4) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), digits)


def _rows_of(state: _State, name: str, month: str) -> pd.DataFrame:
    frame = state.catalog.load(name)
    if frame is None or frame.empty:
        return pd.DataFrame()
    return frame.loc[pd.to_datetime(frame["snapshot_date"]) == pd.Timestamp(month)]


def _scorecard_record(state: _State, month: str, lag: int) -> dict[str, Any]:
    """The scorecard's monitoring of the month: the deciding version's backtest and the estimates."""
    backtest = _rows_of(state, "out_scorecard_backtest", month)
    estimated = _rows_of(state, "out_estimated_performance", month)
    versions = {}
    for _, r in backtest.loc[backtest["level"] == "version"].iterrows() if len(backtest) else ():
        versions[str(r["scorecard_version"])] = {
            "cohort_month": f"{pd.Timestamp(r['cohort_month']):%Y-%m-%d}",
            "n_labelled": int(r["n_labelled"]),
            "defaults": int(r["defaults"]),
            **{k: _number(r.get(k)) for k in ("observed_default_rate", "predicted_pd", "roc_auc", "auc_lower",
                                              "auc_upper")},
            "verdict": str(r["verdict"]),
            "rank_order_monotone": None if pd.isna(r["rank_order_monotone"]) else bool(r["rank_order_monotone"]),
        }  # fmt: skip
    estimates = {}
    for _, r in estimated.iterrows() if len(estimated) else ():
        entry = {"scored_month": f"{pd.Timestamp(r['scored_month']):%Y-%m-%d}",
                 "expected_roc_auc": _number(r.get("expected_roc_auc"))}  # fmt: skip
        if r["status"] == "realized":
            entry |= {"realized_roc_auc": _number(r.get("realized_roc_auc")),
                      "roc_auc_error": _number(r.get("roc_auc_error"))}  # fmt: skip
        estimates.setdefault(str(r["status"]), {})[str(r["scorer"])] = entry
    if not versions and not estimates:
        cohort = add_months(to_month(month), -lag)
        return _skip(f"no scorecard decisions of {cohort:%Y-%m} ({lag} months earlier) and none this month")
    out: dict[str, Any] = {"status": "ran", "backtest": versions, "estimated": estimates}
    if not versions:
        out["backtest_reason"] = f"no matured decisions of {add_months(to_month(month), -lag):%Y-%m}"
    return out


def _inference_record(state: _State, seed: Mapping[str, Any] | None, month: str) -> dict[str, Any]:
    summary = state.catalog.load("rpt_inference_summary")
    scorecard = dict(summary["scorecard"])
    if "kept" in scorecard:  # decided before (--retrain): the record shows the decisions on record
        decisions = state.catalog.load("out_scorecard_decisions")
        recorded = decisions.loc[pd.to_datetime(decisions["snapshot_date"]) == pd.Timestamp(month)]
        bands = recorded["band"].value_counts().sort_index()
        scorecard |= {
            "scorecard_version": "/".join(sorted(recorded["scorecard_version"].astype(str).unique())) or "-",
            "applications": len(recorded),
            "bands": {str(k): int(v) for k, v in bands.items()},
        }
    return {
        "status": "ran",
        "scorecard": scorecard,
        "models": {m["model"]: m for m in summary["models"]},
        "seed_backfill": seed,
    }


def _monitoring_records(state: _State, models: list[str], month: dt.date) -> tuple[dict, dict]:
    summary = state.catalog.load("rpt_monitoring_summary")
    actions = state.catalog.load("rpt_actions_summary")
    monitored, decisions = {}, {}
    for model in models:
        metrics = state.catalog.load(f"{model}.out_monitoring_metrics")
        row = (
            metrics.loc[pd.to_datetime(metrics["snapshot_date"]) == pd.Timestamp(month)]
            if len(metrics)
            else metrics
        )
        if len(row):
            r = row.iloc[0]
            monitored[model] = {
                "model_version": int(r["model_version"]),
                "cohort_month": f"{pd.Timestamp(r['cohort_month']):%Y-%m-%d}",
                **{k: (None if pd.isna(r[k]) else float(r[k]))
                   for k in ("roc_auc", "accuracy", "f1", "psi_score", "psi_feature_max")},
            }  # fmt: skip
    for entry in actions["models"]:
        for m in entry["months"]:
            if m["month"] == month.isoformat() and m["status"] == "evaluated":
                decisions[entry["model"]] = m["decision"]
    skipped = {
        e["model"]: m["reason"]
        for e in summary["models"]
        for m in e["months"]
        if m["month"] == month.isoformat() and m["status"] == "skipped"
    }
    monitoring = {"status": "ran", "models": monitored, "skipped": skipped}
    action = {"status": "ran" if decisions else "skipped", "decisions": decisions}
    if not decisions:
        action["reason"] = "nothing monitored"
    return monitoring, action
