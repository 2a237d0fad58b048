"""``kycc scorecard``: list, show, refine, compare, activate, rollback and history of scorecard versions.

Thin commands over :mod:`kycc.scorecard` (the store, comparison, reports) and the ``scorecard`` Kedro pipeline
(``refine``). The store URL and the versions of configuration come from the project's configuration
(:mod:`kycc.scorecard.config`); ``--db`` overrides the URL. Every command first stores the configuration's
versions that the store does not hold yet (a new store gets ``v1`` active).

Exit codes: 0 success; 1 refused or failed (unknown version, missing reviewer, blocked activation, failing
comparison checks); 2 usage errors.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from kycc.scorecard.config import ScorecardConfig, absolute_store_url, load_scorecard_config, open_store
from kycc.scorecard.governance import ActivationBlockedError, ScorecardStoreError
from kycc.scorecard.store import ScorecardStore, default_actor, redact_url

logger = logging.getLogger(__name__)

__all__ = ["decisions", "scorecard"]


@dataclass
class _State:
    db: str | None
    env: str | None
    _config: ScorecardConfig | None = None
    _store: ScorecardStore | None = field(default=None, repr=False)
    _catalog: Any = field(default=None, repr=False)

    @property
    def config(self) -> ScorecardConfig:
        if self._config is None:
            try:
                self._config = load_scorecard_config(self.env)
            except Exception as exc:  # noqa: BLE001 - a broken configuration is a user error here
                raise click.ClickException(f"Cannot read the project configuration: {exc}") from exc
        return self._config

    @property
    def url(self) -> str:
        return absolute_store_url(self.db, self.config.project_root) if self.db else self.config.store_url

    def store(self) -> ScorecardStore:
        if self._store is None:
            try:
                self._store = open_store(self.config, self.url)
            except (ValueError, ScorecardStoreError) as exc:
                raise click.ClickException(f"Invalid scorecard configuration: {exc}") from exc
            except Exception as exc:  # noqa: BLE001
                raise click.ClickException(
                    f"Cannot open the scorecard store {redact_url(self.url)}: {exc}"
                ) from exc
        return self._store

    def session(self, runtime_params: dict[str, Any] | None = None) -> Any:
        """A KedroSession of the project (``with state.session() as session:``)."""
        from kycc.project import open_session

        root = self.config.project_root
        if root is None:
            raise click.ClickException("No KYCC (Kedro) project found: run the command inside the project")
        return open_session(root, self.config.env, runtime_params)

    def catalog(self) -> Any:
        """The project's data catalog (for the reference batch and the report files)."""
        if self._catalog is None:
            with self.session() as session:
                self._catalog = session.load_context().catalog
        return self._catalog

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def _state(ctx: click.Context) -> _State:
    return ctx.find_object(_State)


def _fail(exc: Exception) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group(name="scorecard", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", default=None, help="SQLAlchemy URL of the version store (default: from catalog_scorecard.yml)."
)
@click.option(
    "-e", "--env", default=None, help="Kedro configuration environment (default: KEDRO_ENV or local)."
)
@click.pass_context
def scorecard(ctx: click.Context, db: str | None, env: str | None) -> None:
    """Scorecard versions: list, show, refine from model_1, compare, activate, rollback, audit history."""
    state = _State(db=db, env=env)
    ctx.obj = state
    ctx.call_on_close(state.close)


# ---------------------------------------------------------------------------------------------------------
# list / show / history
# ---------------------------------------------------------------------------------------------------------
@scorecard.command("list")
@click.pass_context
def list_versions(ctx: click.Context) -> None:
    """All versions with status, origin, calibration and their latest comparison with the active version."""
    from kycc.scorecard.report import text_table

    store = _state(ctx).store()
    records = store.list_versions()
    active = next((r.version for r in records if r.status == "active"), None)
    rows = []
    for r in records:
        vs_active = "-"
        if active and r.version != active:
            found = store.latest_comparison(active, r.version)
            vs_active = (
                "not compared" if found is None else f"#{found['id']} {'pass' if found['passed'] else 'FAIL'}"
            )
        rows.append(
            [
                ("* " if r.status == "active" else "  ") + r.version,
                r.status,
                r.source,
                r.base_version or "-",
                r.created_at[:19].replace("T", " "),
                r.created_by,
                "yes" if r.calibration else "no",
                vs_active,
            ]
        )
    click.echo(
        text_table(
            [
                "version",
                "status",
                "source",
                "base",
                "created (UTC)",
                "by",
                "calibrated",
                f"vs active ({active})",
            ],
            rows,
        )
    )
    click.echo(f"\nStore: {redact_url(store.url)}")


def _bins_text(rule: Any) -> str:
    return " | ".join(f"{b['bin']}: {b['points']:g}" for b in rule.bins())


@scorecard.command("show")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="Print the stored record as JSON.")
@click.pass_context
def show(ctx: click.Context, version: str, as_json: bool) -> None:
    """One version: status, origin, score range, bands with calibrated PDs, features with bins, points, weight."""
    from kycc.scorecard.report import text_table

    try:
        record = _state(ctx).store().get(version)
    except ScorecardStoreError as exc:
        raise _fail(exc) from exc
    if as_json:
        click.echo(json.dumps(record.to_dict(), indent=2, default=str))
        return
    d = record.definition
    click.echo(f"Scorecard {record.version} ({record.status}) — {d.description}")
    click.echo(f"  source {record.source}" + (f", base {record.base_version}" if record.base_version else ""))
    click.echo(f"  created {record.created_at} by {record.created_by}")
    if record.activated_at:
        click.echo(f"  last activated {record.activated_at} by {record.activated_by}")
    click.echo(f"  fingerprint {record.fingerprint}")
    prov = record.provenance or {}
    if prov.get("blend_factor") is not None:
        model = prov.get("model") or {}
        click.echo(
            f"  refined from {model.get('model')} (trained for {model.get('training_date')}, OOT ROC-AUC "
            f"{model.get('oot_roc_auc')}), blend_factor {prov['blend_factor']}, importance {prov.get('importance')}"
        )
    click.echo(
        f"\nScore = floor({d.score_min:g} + {d.score_max - d.score_min:g} × Σ weight × points / 100 + 0.5), "
        f"range {d.score_min:g}..{d.score_max:g}"
    )
    cal = record.calibration
    band_rows = []
    cal_bands = {b["band"]: b for b in (cal or {}).get("bands", [])}
    for b in d.band_ranges():
        c = cal_bands.get(b["band"])
        band_rows.append(
            [
                b["band"],
                f"{b['min_score']:g}..{b['max_score']:g}",
                f"{c['pd_at_max_score']:.1%}..{c['pd_at_min_score']:.1%}" if c else "-",
                f"{c['observed_default_rate']:.1%} of {c['rows']}" if c and c["rows"] else "-",
            ]
        )
    click.echo(text_table(["band", "scores", "calibrated PD", "observed default rate"], band_rows))
    if cal:
        click.echo(
            f"PD = 1 / (1 + exp(-({cal['intercept']:.4f} + ({cal['slope']:.6f}) × score))); fitted on "
            f"{cal['rows']} labelled applications ({cal.get('fitted_on', {}).get('months', '?')}), ROC-AUC "
            f"{cal['roc_auc']:.3f}"
        )
    else:
        click.echo("Not calibrated (no score → PD mapping yet).")
    click.echo("")
    click.echo(
        text_table(
            ["feature", "group", "weight", "bins: points (0..100)"],
            [[f.name, f.group, f"{f.weight:.4f}", _bins_text(f)] for f in d.features],
            "llrl",
        )
    )


@scorecard.command("history")
@click.option("--version", "version", default=None, help="Only entries about this version.")
@click.option("--limit", type=int, default=None, help="Only the last N entries.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON lines.")
@click.pass_context
def history(ctx: click.Context, version: str | None, limit: int | None, as_json: bool) -> None:
    """The audit log: every create, calibrate, compare, activate and rollback — who, when, what, why."""
    from kycc.scorecard.report import text_table

    entries = _state(ctx).store().history(version=version, limit=limit)
    if as_json:
        for e in entries:
            click.echo(json.dumps(e.to_dict(), default=str))
        return
    rows = []
    for e in entries:
        what = e.details
        if e.action == "compare":
            summary = f"{what.get('old_version')} → {what.get('new_version')}: {'pass' if what.get('passed') else 'FAIL'} (#{what.get('comparison_id')})"
        elif e.action in ("activate", "rollback"):
            previous = what.get("previous_version") or what.get("rolled_back")
            summary = f"previous {previous or '-'}" + (" OVERRIDE" if what.get("override") else "")
        elif e.action == "create":
            summary = f"{what.get('source')}" + (
                f" from {what['base_version']}" if what.get("base_version") else ""
            )
        else:
            summary = f"{what.get('method')} on {what.get('rows')} rows"
        rows.append(
            [e.id, e.at[:19].replace("T", " "), e.action, e.version or "-", e.actor, summary, e.reason or ""]
        )
    click.echo(text_table(["#", "when (UTC)", "action", "version", "who", "what", "why"], rows, "rllllll"))


# ---------------------------------------------------------------------------------------------------------
# refine / compare
# ---------------------------------------------------------------------------------------------------------
@scorecard.command("refine")
@click.option(
    "--blend-factor", type=click.FloatRange(0, 1), default=None, help="Share of the ML weights (default 0.5)."
)
@click.option("--base", "base", default=None, help="Version to refine (default: the active one).")
@click.option("--author", default=None, help="Recorded as the creator (default: the operating-system user).")
@click.option(
    "--reference-month", default=None, help="Reference month of the comparison (default: the latest)."
)
@click.pass_context
def refine(
    ctx: click.Context,
    blend_factor: float | None,
    base: str | None,
    author: str | None,
    reference_month: str | None,
) -> None:
    """Run the scorecard pipeline: model_1 → draft ml_vN, its calibration, comparison and report."""
    state = _state(ctx)
    config = state.config
    refinement: dict[str, Any] = {}
    if blend_factor is not None:
        refinement["blend_factor"] = blend_factor
    if base:
        refinement["base_version"] = base
    refinement["author"] = author or default_actor()
    params: dict[str, Any] = {"scorecard": {"refinement": refinement}}
    if reference_month:
        params["scorecard"]["reference"] = {"month": reference_month}
    before = {r.version for r in state.store().list_versions()}
    if state.db:
        click.echo(
            "Note: --db is not used by the pipeline; it writes to the store of catalog_scorecard.yml",
            err=True,
        )
    try:
        with state.session(params) as session:
            session.run(pipeline_names=["scorecard"])
    except click.ClickException:
        raise
    except Exception as exc:  # noqa: BLE001 - report the pipeline's error as the command's
        hint = ""
        if "06_models/model_1" in str(exc) or "model_1.mdl" in str(exc):
            hint = (
                "\nmodel_1 artifacts are missing: train first (`kedro run --pipelines model_input,training`)."
            )
        raise click.ClickException(
            f"The scorecard pipeline failed: {type(exc).__name__}: {exc}{hint}"
        ) from exc
    store = ScorecardStore(config.store_url)
    try:
        created = [r for r in store.list_versions() if r.version not in before and r.source == "refinement"]
        if not created:
            raise click.ClickException("The pipeline finished but stored no new version")
        record = created[-1]
        comparison = store.latest_comparison(record.base_version, record.version)
    finally:
        store.close()
    from kycc.scorecard.report import render_text

    click.echo(f"Created draft {record.version} from {record.base_version} (not active).")
    if comparison:
        click.echo(render_text(comparison))
    click.echo(
        f"\nNext: review the report in data/08_reporting/scorecard/, then "
        f"`kycc scorecard activate {record.version} --reviewer 'NAME'`"
        + ("" if comparison and comparison["passed"] else " --override-reason 'WHY'")
    )


def _reference_rows(
    state: _State, month: str | None, months: int, reference_file: Path | None
) -> tuple[Any, str]:
    import pandas as pd

    from kycc.scorecard.data import select_reference_batch

    if reference_file is not None:
        frame = (
            pd.read_csv(reference_file)
            if reference_file.suffix == ".csv"
            else pd.read_parquet(reference_file)
        )
        if month is None and "application_date" not in frame.columns:
            return frame, reference_file.name
        rows, label = select_reference_batch(frame, month, months)
        return rows, f"{label} of {reference_file.name}"
    if state.config.project_root is None:
        raise click.ClickException("No Kedro project here: pass --reference-file with the rows to compare on")
    try:
        features = state.catalog().load("feat_gold_features")
        return select_reference_batch(features, month, months)
    except Exception as exc:  # noqa: BLE001 - an empty or missing feature store is a user-facing condition
        raise click.ClickException(
            f"Cannot read the reference batch from feat_gold_features: {exc}. Build the feature store "
            "(`kedro run`) or pass --reference-file."
        ) from exc


def _shadow_evidence(state: _State, old: str, new: str) -> Any:
    """The matured loans NEW scored in shadow while OLD decided (``out_scorecard_shadow`` ⋈ ``feat_gold_labels``),
    for the fourth check; None (the check then says there is no evidence) outside a project or before any."""
    from kycc.scorecard.shadow import shadow_evidence

    if state.config.project_root is None:
        return None
    try:
        catalog = state.catalog()
        shadow = catalog.load("out_scorecard_shadow")
        if shadow is None or shadow.empty:
            return None
        labels = catalog.load("feat_gold_labels")
        if hasattr(labels, "to_pandas"):
            labels = labels.select("loan_id", "label").to_pandas()
    except Exception as exc:  # noqa: BLE001 - no shadow table or labels yet: the check reports no evidence
        logger.info("No shadow evidence for %s vs %s: %s", old, new, exc)
        return None
    return shadow_evidence(shadow, labels, old, new)


def _write_reports(state: _State, files: dict[str, str]) -> list[str]:
    if state.config.project_root is not None:
        catalog = state.catalog()
        catalog.save("rpt_scorecard_comparison", files)
        folder = catalog.get("rpt_scorecard_comparison")._describe().get("path")
    else:
        folder = "data/08_reporting/scorecard"
        Path(folder).mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (Path(folder) / name).write_text(content, encoding="utf-8")
    return [str(Path(str(folder)) / name) for name in files]


@scorecard.command("compare")
@click.argument("old")
@click.argument("new")
@click.option("--month", default=None, help="Reference month (YYYY-MM or a date in it; default: the latest).")
@click.option(
    "--months", type=click.IntRange(1), default=None, help="Months in the reference batch (default 1)."
)
@click.option(
    "--reference-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Score these rows (parquet or CSV of gold feature columns) instead of feat_gold_features.",
)
@click.option("--author", default=None, help="Recorded as who compared (default: the operating-system user).")
@click.option("--reason", default=None, help="Why (recorded in the audit log).")
@click.pass_context
def compare(
    ctx: click.Context,
    old: str,
    new: str,
    month: str | None,
    months: int | None,
    reference_file: Path | None,
    author: str | None,
    reason: str | None,
) -> None:
    """Compare NEW with OLD on a reference batch: weights, score correlation, bands, and the four checks (the
    fourth, shadow_gini, on the matured cohorts NEW was scored in shadow while OLD decided).

    The result is stored (audit: compare), printed, and written as HTML and Markdown reports. Exits with 1 when
    a check fails.
    """
    from kycc.scorecard.comparison import compare_scorecards
    from kycc.scorecard.report import render_html, render_markdown, render_text

    state = _state(ctx)
    store = state.store()
    try:
        old_record, new_record = store.get(old), store.get(new)
    except ScorecardStoreError as exc:
        raise _fail(exc) from exc
    params = state.config.params
    reference_params = params.get("reference") or {}
    rows, label = _reference_rows(
        state,
        month or reference_params.get("month"),
        months or int(reference_params.get("months") or 1),
        reference_file,
    )
    try:
        result = compare_scorecards(
            old_record.definition,
            new_record.definition,
            rows,
            params.get("checks"),
            reference_label=label,
            shadow=_shadow_evidence(state, old, new),
        )
    except ValueError as exc:
        raise _fail(exc) from exc
    comparison_id = store.record_comparison(
        result, author or default_actor(), reason or f"review of {new} against {old}"
    )
    stored = store.comparison(comparison_id)
    click.echo(render_text(stored))
    files = {
        f"{old}_vs_{new}.html": render_html(stored, old_record.to_dict(), new_record.to_dict()),
        f"{old}_vs_{new}.md": render_markdown(stored, old_record.to_dict(), new_record.to_dict()),
    }
    for path in _write_reports(state, files):
        click.echo(f"Report: {path}")
    if not stored["passed"]:
        failing = ", ".join(c["check"] for c in stored["checks"] if not c["passed"])
        click.echo(
            f"\nChecks failed ({failing}): activating {new} needs --override-reason 'WHY' besides --reviewer.",
            err=True,
        )
        ctx.exit(1)


# ---------------------------------------------------------------------------------------------------------
# activate / rollback
# ---------------------------------------------------------------------------------------------------------
@scorecard.command("activate")
@click.argument("version")
@click.option("--reviewer", default=None, help="Who approves the activation (required).")
@click.option("--reason", default=None, help="Why (recorded in the audit log).")
@click.option(
    "--override-reason",
    default=None,
    help="Activate although the comparison with the active version failed: the written reason (recorded).",
)
@click.pass_context
def activate(
    ctx: click.Context, version: str, reviewer: str | None, reason: str | None, override_reason: str | None
) -> None:
    """Make VERSION the active scorecard (named reviewer; passing checks or an override reason)."""
    if not (reviewer or "").strip():
        raise click.UsageError(
            f"Activating {version} needs a named reviewer: --reviewer 'Jane Doe, Head of Credit Risk'", ctx
        )
    store = _state(ctx).store()
    try:
        result = store.activate(version, reviewer, reason=reason, override_reason=override_reason)
    except ActivationBlockedError as exc:
        click.echo(
            f"Activation of {exc.version} refused: the checks against the active version {exc.active} did not pass.",
            err=True,
        )
        from kycc.scorecard.report import format_check_value

        for check in exc.failed:
            click.echo(
                f"  FAIL {check['check']}"
                + (
                    f" = {format_check_value(check)} (passes when {check['rule']})"
                    if check.get("rule")
                    else ""
                )
                + f": {check.get('detail', '')}",
                err=True,
            )
        if exc.comparison_id is None:
            click.echo(f"Compare first: kycc scorecard compare {exc.active} {exc.version}", err=True)
        click.echo(
            f"To activate anyway: kycc scorecard activate {exc.version} --reviewer '{reviewer}' "
            "--override-reason 'WHY' (recorded in the audit log)",
            err=True,
        )
        ctx.exit(1)
    except ScorecardStoreError as exc:
        raise _fail(exc) from exc
    click.echo(
        f"{result.version} is now the active scorecard (previous: {result.previous_version}); reviewer "
        f"{result.reviewer}" + (" — OVERRIDE recorded" if result.override else "")
    )
    click.echo(f"Why: {result.reason}")


@scorecard.command("rollback")
@click.option("--reviewer", default=None, help="Who approves the rollback (required).")
@click.option("--reason", default=None, help="Why (required, recorded in the audit log).")
@click.pass_context
def rollback(ctx: click.Context, reviewer: str | None, reason: str | None) -> None:
    """Restore the version that was active before the current one."""
    if not (reviewer or "").strip():
        raise click.UsageError("A rollback needs a named reviewer: --reviewer 'Jane Doe'", ctx)
    if not (reason or "").strip():
        raise click.UsageError(
            "A rollback needs a reason: --reason 'band E share doubled after go-live'", ctx
        )
    try:
        result = _state(ctx).store().rollback(reviewer, reason)
    except ScorecardStoreError as exc:
        raise _fail(exc) from exc
    click.echo(
        f"Rolled back: {result.version} is the active scorecard again (was {result.previous_version}); "
        f"reviewer {result.reviewer}"
    )


# ---------------------------------------------------------------------------------------------------------
# kycc decisions: the decision log
# ---------------------------------------------------------------------------------------------------------
@click.group(name="decisions", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db", default=None, help="SQLAlchemy URL of the scorecard store (default: catalog_scorecard.yml)."
)
@click.option(
    "-e", "--env", default=None, help="Kedro configuration environment (default: KEDRO_ENV or local)."
)
@click.pass_context
def decisions(ctx: click.Context, db: str | None, env: str | None) -> None:
    """The decision log: show (reproduced bit for bit from the stored inputs), override, list."""
    state = _State(db=db, env=env)
    ctx.obj = state
    ctx.call_on_close(state.close)


@decisions.command("show")
@click.argument("decision_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the logged and reproduced decision as JSON.")
@click.pass_context
def show_decision(ctx: click.Context, decision_id: int, as_json: bool) -> None:
    """A logged decision, scored again from its stored inputs; exit 1 when it is not reproduced exactly."""
    from kycc.scorecard.decision_log import reproduce, summarise

    store = _state(ctx).store()
    try:
        result = reproduce(store, decision_id)
    except ScorecardStoreError as exc:
        raise _fail(exc) from exc
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        for line in summarise(result["logged"]):
            click.echo(line)
        if result["identical"]:
            click.echo("Reproduced from the stored inputs: identical (every logged field, bit for bit)")
        else:
            click.echo("NOT reproduced: " + "; ".join(f"{k}: logged {v[0]!r}, now {v[1]!r}"
                                                       for k, v in result["differences"].items()))  # fmt: skip
    if not result["identical"]:
        raise SystemExit(1)


@decisions.command("override")
@click.argument("decision_id", type=int)
@click.option("--decision", "new", type=click.Choice(["approve", "refer", "decline"]), required=True)
@click.option("--reviewer", default=None, help="Who overrides (named).")
@click.option("--reason", default=None, help="Why (recorded).")
@click.pass_context
def override_decision(
    ctx: click.Context, decision_id: int, new: str, reviewer: str | None, reason: str | None
) -> None:
    """Record a person's decision over a logged one (the logged decision stays as it was)."""
    store = _state(ctx).store()
    try:
        result = store.record_override(decision_id, new, reviewer, reason)
    except ScorecardStoreError as exc:
        raise _fail(exc) from exc
    click.echo(
        f"Decision #{decision_id}: {result['original_decision']} → {result['decision']} ({result['side']}) by "
        f"{result['overridden_by']}: {result['reason']}"
    )


@decisions.command("list")
@click.option("--limit", type=int, default=20, show_default=True, help="The latest N decisions.")
@click.pass_context
def list_decisions(ctx: click.Context, limit: int) -> None:
    """The latest logged decisions."""
    from kycc.scorecard.report import text_table

    frame = _state(ctx).store().decisions_frame()
    rows = [
        [r.id, r.at[:19].replace("T", " "), r.channel, r.loan_id, r.scorecard_version, r.score, r.band, r.decision,
         r.decided_by, r.reason_codes or "-"]
        for r in frame.tail(limit).itertuples()
    ]  # fmt: skip
    click.echo(text_table(["id", "at (UTC)", "channel", "loan", "version", "score", "band", "decision", "by",
                           "reasons"], rows))  # fmt: skip
    click.echo(f"\n{len(frame)} decision(s) logged in {redact_url(_state(ctx).url)}")
