"""Bad options give clear errors; --force replaces the generator's own files only; the CLI works."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kycc.cli.main import main
from kycc.synthetic import DEFAULT_CUSTOMERS, generate


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"start": "2024-06-01", "end": "2024-01-01"},
            ValueError,
            "start=2024-06-01 is after end=2024-01-01",
        ),
        ({"start": "2024-01-15"}, ValueError, "start=2024-01-15 is not the first of a month"),
        ({"end": "2024-13-01"}, ValueError, "end='2024-13-01' is not an ISO date"),
        ({"n_customers": 0}, ValueError, "n_customers must be at least 1"),
        ({"n_customers": 2.5}, TypeError, "n_customers must be an integer"),
        (
            {"json_months": 25},
            ValueError,
            "json_months must lie between 0 and the number of months in the range",
        ),
        ({"json_months": -1}, ValueError, "json_months must lie between 0"),
        ({"seed": -3}, ValueError, "seed must be a non-negative integer"),
        ({"dirty_rates": {"missing": 0.1}}, TypeError, "dirty_rates must be a DirtyRates"),
    ],
)
def test_bad_options_raise_clearly(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        generate(tmp_path / "out", **{"n_customers": 10, **kwargs})
    assert not (tmp_path / "out").exists()


def test_default_size_constant():
    assert DEFAULT_CUSTOMERS == 2000


def test_refuses_non_empty_output_without_force(tmp_path):
    (tmp_path / ".gitkeep").write_text("")
    generate(tmp_path, n_customers=20)  # hidden files do not count
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="is not empty .*force"):
        generate(tmp_path, n_customers=20)


def test_force_replaces_stale_batches(tmp_path):
    generate(tmp_path, n_customers=30, json_months=3)
    (tmp_path / "notes.txt").write_text("keep me")
    summary = generate(tmp_path, n_customers=30, json_months=1, force=True)
    batches = sorted(p.name for p in (tmp_path / "batches").iterdir())
    assert batches == ["BATCH_2024_12_labels.json", "BATCH_2024_12_profiles.json"]
    assert summary.json_months == ("2024-12-01",)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert not (tmp_path / "_truth").exists()


def test_cli_generate(tmp_path):
    out = tmp_path / "raw"
    runner = CliRunner()
    args = ["generate", "--customers", "200", "--seed", "9", "--output", str(out), "--json-months", "2"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "default rate" in result.output and str(out) in result.output
    assert "lms_loan_daily.csv" in result.output and "2024-11-01, 2024-12-01" in result.output
    manifest = json.loads((out / "_generation_manifest.json").read_text(encoding="utf-8"))
    assert manifest["args"] == {
        "n_customers": 200, "start": "2023-01-01", "end": "2024-12-01", "seed": 9, "json_months": 2,
        "dirty": True, "write_truth": False, "drift": True,
    }  # fmt: skip
    assert (out / "batches" / "BATCH_2024_12_labels.json").is_file()

    again = runner.invoke(main, args)
    assert again.exit_code == 2 and "--force" in again.output

    clean = runner.invoke(main, [*args, "--clean", "--force", "--truth", "--start", "2024-01-01"])
    assert clean.exit_code == 0, clean.output
    manifest = json.loads((out / "_generation_manifest.json").read_text(encoding="utf-8"))
    assert manifest["args"]["dirty"] is False and manifest["months"][0] == "2024-01-01"
    assert all(f["planted"]["duplicate_rows"] == 0 for f in manifest["files"].values())
    assert (out / "_truth" / "latent.csv").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2024-02-03"], "not the first of a month"),
        (["--start", "2024-06-01", "--end", "2024-01-01"], "is after end"),
        (["--customers", "0"], "at least 1"),
        (["--customers", "many"], "'many' is not a valid integer"),
    ],
)
def test_cli_bad_options(tmp_path, args, message):
    result = CliRunner().invoke(main, ["generate", "--output", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_cli_group_help():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "generate" in result.output
