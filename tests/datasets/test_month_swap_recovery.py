"""A month swap killed at any step is finished or rolled back by the next load or save of the table.

The swap of ``MonthPartitionedIbisDataset.save`` reports each step it completes to
``partitioned_ibis.swap_step_hook``; the tests stop the save there (a real ``SIGKILL`` of a child process, or
an exception in-process) and then check that the table reads wholly old or wholly new and that nothing is
left behind.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from kycc.datasets import MonthlyTable, MonthPartitionedIbisDataset
from kycc.datasets import partitioned_ibis as pi

PROJECT_ROOT = Path(__file__).resolve().parents[2]

OLD = {"2024-01": [1], "2024-02": [1], "2024-03": [1]}
# the new save re-states 2024-01 (now without rows: emptied), replaces 02 and 03, adds 04
NEW = {"2024-02": [2, 2], "2024-03": [2], "2024-04": [2]}
NEW_MONTHS = ("2024-01", "2024-02", "2024-03", "2024-04")


def _table(months: dict[str, list[int]]):
    dates = [dt.date(int(m[:4]), int(m[5:]), 1) for m, xs in months.items() for _ in xs]
    return ibis.memtable(pa.table({"snapshot_date": dates, "x": [x for xs in months.values() for x in xs]}))


def seed(path: str) -> None:
    MonthPartitionedIbisDataset(path).save(_table(OLD))


def new_save(path: str) -> None:
    MonthPartitionedIbisDataset(path).save(MonthlyTable(_table(NEW), NEW_MONTHS))


def state(path: str) -> dict[str, list[int]]:
    """What a fresh dataset reads (its load recovers first), month -> sorted values."""
    frame = MonthPartitionedIbisDataset(path).load().execute()
    out: dict[str, list[int]] = {}
    for date, x in sorted(zip(frame["snapshot_date"], frame["x"], strict=True)):
        out.setdefault(f"{date:%Y-%m}", []).append(int(x))
    return out


def leftovers(path: str) -> list[str]:
    return sorted(p.name for p in Path(path).iterdir() if p.name.startswith((".", "_swap")))


def swap_steps(tmp_path: Path) -> list[str]:
    """The steps of the swap, in order, recorded on an uninterrupted save."""
    path = str(tmp_path / "probe")
    seed(path)
    steps: list[str] = []
    pi.swap_step_hook = steps.append
    try:
        new_save(path)
    finally:
        pi.swap_step_hook = None
    assert state(path) == NEW
    assert "committed" in steps, f"the save reported no commit point: {steps}"
    return steps


class _Crash(BaseException):
    """Stands for the process dying at a step (no handler in the swap catches it)."""


def test_the_swap_reports_every_step(tmp_path):
    steps = swap_steps(tmp_path)
    assert steps[:3] == ["staged_months", "staged", "committed"]
    assert "aside:batch_month=2024-02" in steps and "installed:batch_month=2024-04" in steps
    assert "removed:batch_month=2024-01" in steps
    assert steps[-2:] == ["journal_removed", "cleaned"]


@pytest.mark.parametrize("recover_by", ["load", "save"])
def test_a_swap_stopped_at_any_step_is_finished_or_rolled_back(tmp_path, recover_by):
    steps = swap_steps(tmp_path)
    for i, step in enumerate(steps):
        path = str(tmp_path / f"t{i}")
        seed(path)

        def crash(name, at=step):
            if name == at:
                raise _Crash(name)

        pi.swap_step_hook = crash
        try:
            with pytest.raises(_Crash):
                new_save(path)
        finally:
            pi.swap_step_hook = None
        committed = steps.index(step) >= steps.index("committed")
        if recover_by == "save":  # the next save of another month recovers first, then adds its month
            MonthPartitionedIbisDataset(path).save(_table({"2024-06": [6]}))
            expected = {**(NEW if committed else OLD), "2024-06": [6]}
        else:
            expected = NEW if committed else OLD
        assert state(path) == expected, f"stopped after {step!r}"
        assert leftovers(path) == [], f"stopped after {step!r}"


_CHILD = """
import os, signal, sys
from kycc.datasets import partitioned_ibis as pi
from tests.datasets.test_month_swap_recovery import new_save

def kill_at(name, at=sys.argv[2]):
    if name == at:
        os.kill(os.getpid(), signal.SIGKILL)

pi.swap_step_hook = kill_at
new_save(sys.argv[1])
"""


@pytest.mark.slow
def test_kill_9_at_every_swap_step_leaves_old_or_new_and_nothing_behind(tmp_path):
    steps = swap_steps(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    for i, step in enumerate(steps):
        path = str(tmp_path / f"k{i}")
        seed(path)
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, path, step],
            check=False,
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
        )
        assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
        if step not in ("journal_removed", "cleaned"):
            assert leftovers(path), f"killed after {step!r}: the crash left nothing to recover?"
        committed = steps.index(step) >= steps.index("committed")
        assert state(path) == (NEW if committed else OLD), f"killed after {step!r}"
        assert leftovers(path) == [], f"killed after {step!r}"


def test_leftovers_of_a_crash_in_the_earlier_swap_are_recovered(tmp_path):
    """The state the pre-journal swap left after a kill between its two renames of 2024-02."""
    path = tmp_path / "t"
    seed(str(path))
    staging = path / ".staging-0123456789ab"
    (staging / "batch_month=2024-02").mkdir(parents=True)
    (staging / "batch_month=2024-02" / "0.parquet").write_bytes(b"half-written")
    (path / "batch_month=2024-02").rename(path / ".old-batch_month=2024-02-89abcdef")
    assert MonthPartitionedIbisDataset(str(path)).months() == ["2024-01", "2024-02", "2024-03"]
    assert state(str(path)) == OLD
    assert leftovers(str(path)) == []


def test_an_unreadable_journal_stops_with_a_clear_error(tmp_path):
    from kedro.io import DatasetError

    path = tmp_path / "t"
    seed(str(path))
    (path / pi.JOURNAL_FILE).write_text("{truncated")
    with pytest.raises(DatasetError, match="journal of an interrupted month swap"):
        MonthPartitionedIbisDataset(str(path)).load()
    assert (path / "batch_month=2024-01").is_dir()  # nothing was touched


def test_a_recovery_stopped_in_turn_is_finished_by_the_next_one(tmp_path):
    steps = swap_steps(tmp_path)
    after_commit = steps[steps.index("committed") + 1 : steps.index("journal_removed")]
    for i, step in enumerate(after_commit):
        path = str(tmp_path / f"r{i}")
        seed(path)
        for stop_at, action in ((step, lambda p=path: new_save(p)), (None, lambda p=path: state(p))):
            seen: list[str] = []

            def crash(name, at=stop_at, seen=seen):
                seen.append(name)
                if name == at or (at is None and len(seen) == 1):  # the recovery's first step
                    raise _Crash(name)

            pi.swap_step_hook = crash
            try:
                with pytest.raises(_Crash):
                    action()
            finally:
                pi.swap_step_hook = None
        assert state(path) == NEW, f"stopped after {step!r}, then again in the recovery"
        assert leftovers(path) == []
