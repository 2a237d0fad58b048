"""`kycc backfill` refuses bad options with one clear message, before running anything."""

from __future__ import annotations

from click.testing import CliRunner

from kycc.cli.main import main


def test_backfill_refuses_an_end_before_the_start():
    result = CliRunner().invoke(main, ["backfill", "--start", "2025-06-01", "--end", "2025-01-01"])
    assert result.exit_code == 1 and "--end 2025-01-01 is before --start 2025-06-01" in result.output


def test_backfill_refuses_params_without_a_value():
    result = CliRunner().invoke(main, ["backfill", "--params", "training.training_date"])
    assert result.exit_code == 2 and "--params items must be key=value" in result.output


def test_backfill_refuses_a_start_or_end_that_is_not_a_month(tmp_path, monkeypatch):
    # before: "June" was read as month 0001-06 and 2025-06-15 as 2025-06, after the data pipelines had run
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path))  # were anything run, never on the project's data/
    for option in ("--start", "--end"):
        for bad in ("June", "2025-06-15", "2025-13-01", "25-06-01", ""):
            result = CliRunner().invoke(main, ["backfill", option, bad])
            assert result.exit_code == 2, (option, bad, result.output)
            assert (
                f"Invalid value for '{option}'" in result.output
                and "expected a month YYYY-MM-01" in result.output
            )


def test_backfill_month_options_accept_yyyy_mm_and_yyyy_mm_01():
    from kycc.cli.main import _month_option, backfill

    start = next(p for p in backfill.params if p.name == "start")
    assert _month_option(None, start, "2025-06") == "2025-06-01"
    assert _month_option(None, start, " 2025-06-01 ") == "2025-06-01"
    assert _month_option(None, start, None) is None
