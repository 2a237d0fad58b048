"""`kycc backfill` refuses bad options with one clear message, before running anything."""

from __future__ import annotations

from click.testing import CliRunner

from kycc.cli_commands import main


def test_backfill_refuses_an_end_before_the_start():
    result = CliRunner().invoke(main, ["backfill", "--start", "2025-06-01", "--end", "2025-01-01"])
    assert result.exit_code == 1 and "--end 2025-01-01 is before --start 2025-06-01" in result.output


def test_backfill_refuses_params_without_a_value():
    result = CliRunner().invoke(main, ["backfill", "--params", "training.training_date"])
    assert result.exit_code == 2 and "--params items must be key=value" in result.output
