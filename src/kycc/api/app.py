"""The KYCC HTTP API (FastAPI): pipelines, models, scorecard versions and scoring one applicant.

``kycc serve`` starts it on 127.0.0.1:8000; the OpenAPI docs are at ``/docs``. Endpoints (the seeds' API):

====== ============================================== ===============================================
POST   /api/pipeline/trigger/{pipeline}               queue a Kedro run (202 + run id)        key
GET    /api/pipeline/runs/{run_id}                    its state, progress, summary, log tail
GET    /api/pipeline/runs                             every run of this server
GET    /api/pipeline/models                           the models and their champion versions
GET    /api/pipeline/models/{model_id}                a model version: windows, metrics, aliases
GET    /api/scoring/versions                          scorecard versions (status, origin…)
GET    /api/scoring/versions/{version}                one version: definition, calibration, audit
POST   /api/scoring/versions/{version}/activate       activate (reviewer; override reason)   key
POST   /api/scoring/score                             score one applicant (decision, reasons; logged) key
GET    /api/scoring/decisions/{id}                    a logged decision, reproduced bit for bit
POST   /api/scoring/decisions/{id}/override           a person overrides it (who, why)        key
GET    /api/health                                    liveness, project, env
====== ============================================== ===============================================

"key": the request needs the ``X-API-Key`` header (:mod:`kycc.api.config`); a wrong or missing key is 401,
checked before the body is read (:mod:`kycc.api.guard`); a body over the size limit is 413. A bad payload is 422
with the field named in ``detail[].loc`` — including a trigger parameter outside the allow-list
(:mod:`kycc.api.triggers`) and a feature outside the range silver accepts (:mod:`kycc.api.input_rules`); an
unknown pipeline, model or version is 404; an activation refused by the governance rules (no passing comparison
and no override reason) is 409. ``/docs`` (Swagger UI) and ``/redoc`` are served from the installed
``fastapi-offline`` package's static files: no CDN, they work offline.
"""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response, Security, status
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kycc.api.config import ApiSettings
from kycc.api.guard import API_KEY_HEADER, RequestGuard, key_problem
from kycc.api.runs import PipelineRuns
from kycc.api.service import FeatureError, NotFoundError, ProjectService
from kycc.api.triggers import TriggerParameterError, check_trigger_params

logger = logging.getLogger(__name__)

__all__ = ["create_app"]

_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="The KYCC API key")

Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]+$", max_length=100)]


def require_key(request: Request, key: Annotated[str | None, Security(_api_key_header)]) -> str:
    """The API key check of the mutating endpoints (401 when missing, wrong, or not configured)."""
    problem = key_problem(request.app.state.settings.api_key, key)
    if problem:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, problem, headers={"WWW-Authenticate": "APIKey"})
    return "api-key"


Authorized = Annotated[str, Depends(require_key)]


# ---------------------------------------------------------------------------------------------------------
# payloads
# ---------------------------------------------------------------------------------------------------------
class TriggerRequest(BaseModel):
    """Runtime parameters of the run, as ``kedro run --params`` (dotted keys: ``inference.start_month``); only
    the run window and model selection of the pipeline's allow-list (:mod:`kycc.api.triggers`)."""

    model_config = ConfigDict(extra="forbid")
    params: dict[str, str | int | float | bool | None | list[str | int | float]] = Field(
        default_factory=dict,
        examples=[{"inference.start_month": "2025-06-01", "inference.end_month": "2025-06-01"}],
    )

    @field_validator("params")
    @classmethod
    def _dotted_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not key or any(not part.isidentifier() for part in key.split(".")):
                raise ValueError(
                    f"parameter names are dotted identifiers (inference.start_month), got {key!r}"
                )
        return value


class ActivationRequest(BaseModel):
    """Who approves the activation and why (recorded in the audit log)."""

    model_config = ConfigDict(extra="forbid")
    reviewer: str = Field(min_length=1, examples=["Jane Doe, Head of Credit Risk"])
    reason: str | None = Field(default=None, examples=["quarterly review: v2 passes every check"])
    override_reason: str | None = Field(
        default=None,
        description="Activate although the comparison with the active version failed (or is missing): why.",
    )

    @field_validator("reviewer")
    @classmethod
    def _named(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a named reviewer is required")
        return value.strip()


class OverrideRequest(BaseModel):
    """A person's decision replacing a logged one: who and why (recorded; the logged decision stays)."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "refer", "decline"]
    reviewer: str = Field(min_length=1, examples=["Jane Doe, Credit Officer"])
    reason: str = Field(min_length=1, examples=["salary slip shows income 40 % above the declared one"])


class ScoreRequest(BaseModel):
    """One applicant: gold feature values as of the application date (docs/feature_dictionary.md)."""

    model_config = ConfigDict(extra="forbid")
    application_date: date = Field(description="Date of the application (its month must be after each model's "
                                   "training and validation windows: the batch-lag rule)")  # fmt: skip
    features: dict[str, str | float | int | None] = Field(
        description="Feature name → value (null = unknown). Every feature of the active scorecard and of the "
        "champion models is required; others are ignored and listed back."
    )
    loan_id: str = Field(default="api", max_length=100)
    customer_id: str = Field(default="api", max_length=100)
    models: list[str] | None = Field(default=None, description="Models to ask (default: every model).")


# ---------------------------------------------------------------------------------------------------------
# the app
# ---------------------------------------------------------------------------------------------------------
def create_app(settings: ApiSettings, service: ProjectService | None = None) -> FastAPI:
    """The API for the project of ``settings`` (``kycc serve`` builds it; tests use FastAPI's test client)."""
    service = service or ProjectService(settings)
    runs = PipelineRuns(settings.project_root, settings.runs_dir, env=settings.env)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        runs.start()  # recover the runs a previous server left: orphaned workers, queued runs
        yield
        runs.shutdown()
        service.scoring.close()  # the scorecard store online scoring kept open

    app = FastAPIOffline(
        title="KYCC API",
        version="0.1.0",
        summary="Credit-risk platform: pipelines, models, the governed scorecard and single-applicant scoring.",
        description="The scorecard decides, the models advise. Mutating endpoints need the `X-API-Key` header.",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},  # Swagger UI's validator badge calls a public server
    )
    app.add_middleware(RequestGuard, api_key=settings.api_key, max_body_bytes=settings.max_body_bytes)
    app.state.settings, app.state.service, app.state.runs = settings, service, runs

    @app.exception_handler(NotFoundError)
    async def _not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)

    @app.exception_handler(FeatureError)
    async def _bad_features(_request: Request, exc: FeatureError) -> JSONResponse:
        detail = [
            {"loc": ["body", "features", name], "msg": msg, "type": "value_error"}
            for name, msg in exc.problems
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(TriggerParameterError)
    async def _bad_params(_request: Request, exc: TriggerParameterError) -> JSONResponse:
        detail = [
            {"loc": ["body", "params", key], "msg": msg, "type": "value_error"} for key, msg in exc.problems
        ]
        return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)

    # ---------------------------------------------------------------------------------------------------
    @app.get("/api/health", tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness and what the server serves."""
        return {
            "status": "ok",
            "project": str(settings.project_root),
            "env": settings.env,
            "api_key_configured": bool(settings.api_key),
        }

    # --- pipelines ------------------------------------------------------------------------------------
    @app.post("/api/pipeline/trigger/{pipeline}", status_code=status.HTTP_202_ACCEPTED, tags=["pipelines"])
    def trigger(
        pipeline: Name, who: Authorized, request: Request, body: TriggerRequest | None = None
    ) -> dict[str, Any]:
        """Queue a Kedro run of ``pipeline`` (runs execute one at a time, in a child process); poll its status."""
        nodes = service.pipeline_nodes(pipeline)  # 404 for an unknown pipeline
        params = (body or TriggerRequest()).params
        check_trigger_params(pipeline, params, models=service.model_names())  # 422 before anything is queued
        run = runs.submit(pipeline, params, triggered_by=who)
        out = run.to_dict()
        out["progress"]["nodes_total"] = out["progress"]["nodes_total"] or nodes
        out["status_url"] = str(request.url_for("run_status", run_id=run.run_id))
        return out

    @app.get("/api/pipeline/runs/{run_id}", name="run_status", tags=["pipelines"])
    def run_status(run_id: Name) -> dict[str, Any]:
        """A run's state (queued, running, succeeded, failed), progress, output summary, error and log tail."""
        run = runs.get(run_id)
        if run is None:
            raise NotFoundError(f"Unknown run {run_id!r}")
        return run.to_dict()

    @app.get("/api/pipeline/runs", tags=["pipelines"])
    def list_runs() -> list[dict[str, Any]]:
        """The runs triggered through this project's API (kept across restarts), newest first (without logs)."""
        return [{k: v for k, v in r.to_dict().items() if k != "log_tail"} for r in runs.list()]

    @app.get("/api/pipeline/models", tags=["models"])
    def list_models() -> list[dict[str, Any]]:
        """Every model of ``training.models`` with its registry name and champion version (null: none yet)."""
        out = []
        for model in service.model_names():
            registered = service.registered(model)
            out.append(
                {
                    "model": model,
                    "registered_model_name": registered.registered_model_name,
                    "champion_version": registered.champion_version,
                }
            )
        return out

    @app.get("/api/pipeline/models/{model_id}", tags=["models"])
    def model(
        model_id: Name,
        version: Annotated[int | None, Query(ge=1, description="default: the champion")] = None,
    ) -> dict[str, Any]:
        """A model version (``model_1`` or ``kycc_model_1``; default the champion): windows, metrics, aliases."""
        return service.model_info(model_id, version)

    # --- scorecard ------------------------------------------------------------------------------------
    @app.get("/api/scoring/versions", tags=["scorecard"])
    def list_versions() -> dict[str, Any]:
        """Every scorecard version: status, origin, creation, activation, calibration."""
        with service.open_store() as store:
            records = store.list_versions()
        active = next((r.version for r in records if r.status == "active"), None)
        return {
            "active": active,
            "versions": [
                {
                    "version": r.version,
                    "status": r.status,
                    "source": r.source,
                    "base_version": r.base_version,
                    "created_at": r.created_at,
                    "created_by": r.created_by,
                    "activated_at": r.activated_at,
                    "activated_by": r.activated_by,
                    "calibrated": bool(r.calibration),
                    "fingerprint": r.fingerprint,
                }
                for r in records
            ],
        }

    @app.get("/api/scoring/versions/{version}", tags=["scorecard"])
    def get_version(version: Name) -> dict[str, Any]:
        """One version: definition (features, bins, points, weights, bands), calibration, provenance, audit log."""
        from kycc.scorecard.governance import UnknownVersionError

        with service.open_store() as store:
            try:
                record = store.get(version)
            except UnknownVersionError as exc:
                raise NotFoundError(str(exc)) from exc
            out = record.to_dict()
            out["history"] = [e.to_dict() for e in store.history(version)]
        return out

    @app.post("/api/scoring/versions/{version}/activate", tags=["scorecard"])
    def activate(version: Name, body: ActivationRequest, who: Authorized) -> dict[str, Any]:
        """Make ``version`` the active scorecard: the same rules and audit log as ``kycc scorecard activate``."""
        from kycc.scorecard.governance import (
            ActivationBlockedError,
            AlreadyActiveError,
            ScorecardStoreError,
            UnknownVersionError,
        )

        with service.open_store() as store:
            try:
                result = store.activate(
                    version, body.reviewer, reason=body.reason, override_reason=body.override_reason
                )
            except UnknownVersionError as exc:
                raise NotFoundError(str(exc)) from exc
            except ActivationBlockedError as exc:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    {
                        "message": str(exc),
                        "version": exc.version,
                        "active": exc.active,
                        "failed_checks": exc.failed,
                        "comparison_id": exc.comparison_id,
                        "next_step": f"kycc scorecard compare {exc.active} {exc.version}, or send "
                        "override_reason (recorded in the audit log)",
                    },
                ) from exc
            except AlreadyActiveError as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
            except ScorecardStoreError as exc:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc
        logger.info("API: scorecard %s activated by %s (%s)", version, body.reviewer, who)
        return result.to_dict()

    @app.get("/api/scoring/decisions/{decision_id}", tags=["scoring"])
    def decision(decision_id: Annotated[int, Path(ge=1)]) -> dict[str, Any]:
        """A logged decision (batch or API) scored again from its stored inputs with the stored version and
        calibration: ``identical`` says whether every logged field is reproduced bit for bit."""
        return service.decision(decision_id)

    @app.post("/api/scoring/decisions/{decision_id}/override", tags=["scoring"])
    def override(
        decision_id: Annotated[int, Path(ge=1)], body: OverrideRequest, who: Authorized
    ) -> dict[str, Any]:
        """A person overrides a logged decision (named, with a reason; low-side / high-side recorded). The
        logged decision itself never changes."""
        from kycc.scorecard.governance import ScorecardStoreError

        with service.open_store() as store:
            try:
                result = store.record_override(decision_id, body.decision, body.reviewer, body.reason)
            except ScorecardStoreError as exc:
                code = (
                    status.HTTP_404_NOT_FOUND
                    if "No logged decision" in str(exc)
                    else status.HTTP_400_BAD_REQUEST
                )
                raise HTTPException(code, str(exc)) from exc
        logger.info("API: decision #%s overridden by %s (%s)", decision_id, body.reviewer, who)
        return result

    @app.post("/api/scoring/score", tags=["scoring"])
    def score(body: ScoreRequest, _who: Authorized, response: Response) -> dict[str, Any]:
        """Score one applicant: the active scorecard's score and band (the decision) and each champion model's
        probability of default (the advice), computed by the batch inference code. The ``Server-Timing`` header
        gives the server time of the scoring (``score;dur=`` milliseconds)."""
        start = time.perf_counter()
        out = service.score(
            body.features,
            body.application_date,
            loan_id=body.loan_id,
            customer_id=body.customer_id,
            models=body.models,
        )
        response.headers["Server-Timing"] = f"score;dur={(time.perf_counter() - start) * 1000:.2f}"
        return out

    return app
