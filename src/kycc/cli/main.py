"""The ``kycc`` command: work that is not a single ``kedro run`` (``generate``, ``backfill``, ``scorecard``, ``serve``).

Not named ``kycc/cli.py``: Kedro imports ``<package>.cli`` for project commands of its own CLI.

Subcommands are thin: they parse options, call the domain modules and print a short summary. Other modules add
their commands with ``@main.command()``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from kycc.synthetic import DEFAULT_CUSTOMERS, DEFAULT_END, DEFAULT_SEED, DEFAULT_START

__all__ = ["main"]

#: JSON batch months ``kycc generate`` writes by default (the last months of the range arrive as batch files).
DEFAULT_JSON_MONTHS = 2


def _configure_logging(level: int) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
        )
    logging.getLogger("kycc").setLevel(level)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Show debug logging.")
@click.option("-q", "--quiet", is_flag=True, help="Only show warnings and the final summary.")
def main(verbose: bool, quiet: bool) -> None:
    """KYCC: credit-risk ML platform. Pipelines run with `kedro run`; this command does the rest."""
    _configure_logging(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)


@main.command()
@click.option(
    "--customers",
    "n_customers",
    type=int,
    default=DEFAULT_CUSTOMERS,
    show_default=True,
    help="Number of parties (each has 1, sometimes 2, loans).",
)
@click.option("--start", default=DEFAULT_START, show_default=True, help="First snapshot month (YYYY-MM-01).")
@click.option(
    "--end", default=DEFAULT_END, show_default=True, help="Last snapshot month (YYYY-MM-01), inclusive."
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed; the same options give byte-identical files.",
)
@click.option(
    "--json-months",
    type=int,
    default=DEFAULT_JSON_MONTHS,
    show_default=True,
    help="Write the last K months as batches/{BATCH_ID}_profiles.json and _labels.json instead of CSV rows.",
)
@click.option(
    "--output",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data/01_raw"),
    show_default=True,
    help="Output folder of the raw files.",
)
@click.option(
    "--dirty/--clean",
    default=True,
    show_default=True,
    help="Plant the dirty patterns of real exports, or write clean data.",
)
@click.option(
    "--truth", is_flag=True, help="Also write _truth/latent.csv (latent z per customer, for tests)."
)
@click.option(
    "--drift/--no-drift",
    default=True,
    show_default=True,
    help="Plant the drift of the last third of the range, or generate a stationary world (manifest: drift off).",
)
@click.option("--force", is_flag=True, help="Overwrite the generated files in a non-empty output folder.")
def generate(
    *,
    n_customers: int,
    start: str,
    end: str,
    seed: int,
    json_months: int,
    output: Path,
    dirty: bool,
    truth: bool,
    drift: bool,
    force: bool,
) -> None:
    """Generate the synthetic lender's raw exports (CSVs, JSON batches, manifest)."""
    from kycc.synthetic import generate as generate_world

    try:
        summary = generate_world(
            output,
            n_customers=n_customers,
            start=start,
            end=end,
            seed=seed,
            json_months=json_months,
            dirty=dirty,
            write_truth=truth,
            force=force,
            drift=drift,
        )
    except (ValueError, TypeError, FileExistsError, NotADirectoryError) as exc:
        raise click.UsageError(str(exc)) from exc

    total_rows = sum(summary.rows.values())
    print(f"Generated {summary.n_customers:,} customers, {summary.n_loans:,} loans over "
          f"{len(summary.months)} months ({summary.months[0]} .. {summary.months[-1]}) in {summary.seconds:.1f} s")  # fmt: skip
    for name, rows in summary.rows.items():
        print(f"  {name:<28} {rows:>10,} rows")
    if summary.json_files:
        print(f"  batches/ ({len(summary.json_files)} files)  JSON months: {', '.join(summary.json_months)}")
    rate = f"{summary.default_rate:.1%}" if summary.n_labelled else "n/a"
    print(f"Labelled loans (30 DPD at MOB 6): {summary.n_labelled:,}, default rate {rate}")
    if summary.drift_months:
        print(f"Drift months: {summary.drift_months[0]} .. {summary.drift_months[-1]}")
    elif not drift:
        print("Drift: off (--no-drift), a stationary world")
    planted = ", ".join(f"{k}={v:,}" for k, v in summary.planted.items()) or "none (clean)"
    print(f"Dirty cells/rows planted: {planted}")
    print(f"{total_rows:,} CSV rows written to {summary.output_dir} (manifest: {summary.manifest_path})")


from kycc.cli.scorecard import decisions, scorecard  # noqa: E402

main.add_command(scorecard)
main.add_command(decisions)


def _month_option(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``--start`` / ``--end`` of ``kycc backfill``: a month ``YYYY-MM-01`` (or ``YYYY-MM``), else a usage error
    naming the option (``June`` or ``2025-06-15`` are refused, never read as another month)."""
    from kycc.temporal.months import parse_month

    if value is None:
        return None
    try:
        month = parse_month(value, param.name or "month")
    except ValueError:
        month = None
    if month is None:
        raise click.BadParameter(f"expected a month YYYY-MM-01 (or YYYY-MM), got {value!r}", param=param)
    return month.isoformat()


@main.command()
@click.option(
    "--start",
    default=None,
    callback=_month_option,
    help="First month (YYYY-MM-01). Default: the first month of the data.",
)
@click.option(
    "--end",
    default=None,
    callback=_month_option,
    help="Last month (YYYY-MM-01), inclusive. Default: the last month of the data.",
)
@click.option("--env", "-e", default=None, help="Kedro environment (conf/<env>).")
@click.option(
    "--params", default="", help='Runtime parameters for every step, as `kedro run --params`: "a.b=1,c=x".'
)
@click.option("--no-data", is_flag=True, help="Skip the data pipelines (the gold tables are already built).")
@click.option(
    "--retrain",
    is_flag=True,
    help="Process months already done again (training on its schedule, monitoring, actions). Their decisions "
    "and predictions are kept either way: decisions are history.",
)
def backfill(  # noqa: PLR0913 - one argument per option
    start: str | None, end: str | None, env: str | None, params: str, no_data: bool, retrain: bool
) -> None:
    """Run the monthly cycle over a range of months (catch-up), or one month (incremental).

    Per month: label store, feature store, training (on its schedule), inference, monitoring, actions; then the
    reporting. Each unmet condition is a logged skip. Months already done are kept as recorded (re-running is
    idempotent; --retrain processes them again). See docs/monitoring.md.
    """
    from omegaconf import OmegaConf

    from kycc.cycle import run_backfill

    items = [p.strip() for p in params.split(",") if p.strip()]
    bad = [p for p in items if "=" not in p]
    if bad:
        raise click.UsageError(f"--params items must be key=value, got {bad}")
    runtime = OmegaConf.to_container(OmegaConf.from_dotlist(items)) if items else {}
    try:
        report = run_backfill(start, end, env=env, params=runtime, run_data=not no_data, retrain=retrain)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    kept = f" ({len(report.kept)} already done, kept as recorded)" if report.kept else ""
    click.echo(f"\nMonthly cycle: {len(report.months)} month(s){kept} in {report.seconds:.0f} s")
    click.echo(report.table())
    click.echo(f"\nDashboard: {report.dashboard}")


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on (loopback only by default).",
)
@click.option("--port", type=int, default=8000, show_default=True, help="Port.")
@click.option("--env", "-e", default=None, help="Kedro environment (conf/<env>); default KEDRO_ENV or local.")
def serve(host: str, port: int, env: str | None) -> None:
    """Start the HTTP API (FastAPI; OpenAPI docs at /docs). Mutating endpoints need the API key of
    conf/local/credentials.yml (kycc_api.api_key) or KYCC_API_KEY, sent as the X-API-Key header."""
    import uvicorn

    from kycc.api import create_app, load_api_settings

    try:
        settings = load_api_settings(env)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not settings.api_key:
        click.echo(
            "No API key configured: the mutating endpoints (trigger, activate, score) will answer 401. Set "
            "kycc_api.api_key in conf/local/credentials.yml or KYCC_API_KEY.",
            err=True,
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"Listening on {host}: the API is reachable from other machines; put TLS in front of it.",
            err=True,
        )
    # the configuration's relative paths (data root, sqlite stores) are relative to the project, as in `kedro run`
    os.chdir(settings.project_root)
    click.echo(
        f"KYCC API for {settings.project_root} (env {settings.env or 'default'}): http://{host}:{port}/docs"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@main.command()
@click.option("--port", type=int, default=8090, show_default=True, help="Port on 127.0.0.1 (0: a free one).")
@click.option("--env", "-e", default=None, help="Kedro environment (conf/<env>); default KEDRO_ENV or local.")
def pocketbase(port: int, env: str | None) -> None:
    """Serve the issue_mining PocketBase in the foreground on 127.0.0.1 for browsing (admin UI at /_/): the
    embedded server the pipeline starts when no PocketBase URL is configured, with the same data folder."""
    from kedro.config import MissingConfigException
    from kedro.io import DataCatalog

    from kycc.mining.pocketbase import PocketBaseError, serve_embedded
    from kycc.paths import find_project_root
    from kycc.project import config_loader

    root = find_project_root()
    if root is None:
        raise click.ClickException("No KYCC (Kedro) project found: run `kycc pocketbase` inside the project")
    os.chdir(root)  # relative paths of the configuration (the data root) are relative to the project
    # Only the one catalog entry and its credentials: no Kedro session (hooks, MLflow) for a browsing server.
    loader = config_loader(root, env)
    name = "issue_mining.pocketbase_access"
    try:
        credentials = dict(loader["credentials"])
    except MissingConfigException:
        credentials = {}
    entry = dict(loader["catalog"]).get(name)
    if entry is None:
        raise click.ClickException(f"{name} is not in the catalog of {root / 'conf'}")
    access = DataCatalog.from_config({name: entry}, credentials=credentials).load(name)
    params = (loader["parameters"].get("issue_mining") or {}).get("pocketbase") or {}
    if not access.embedded:
        raise click.ClickException(
            f"issue_mining uses the PocketBase server at {access.url} (configured): browse it there"
        )
    try:
        code = serve_embedded(
            access.embedded_dir,
            port or None,
            params.get("issues_collection", "kycc_issues"),
            params.get("evidence_collection", "kycc_issue_evidence"),
            echo=click.echo,
        )
    except (PocketBaseError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    raise SystemExit(code)
