"""Temporal windows of a training run, counted back from the training date ``T``.

Convention (documented in ``docs/training.md``): ``T`` is the training date, the first day of a month, and a
training run only uses the history *before* ``T``. Application months (cohorts) are assigned, newest first:

* **label maturity**: the ``label_maturity_months`` (6) months right before ``T``. A loan needs them to reach
  MOB 6; no cohort from this period is used, its labels are not known yet.
* **oot**: the ``oot_months`` (1) cohort(s) before the maturity period: the latest cohorts whose labels have
  matured before ``T`` (cohort ``T - 7`` reaches MOB 6 at ``T - 1``),
* **test** (2), **validation** (2) and **train** (12) before that.

12 + 2 + 2 + 1 + 6 = 23 months of history: with data from 2023-01-01 the first trainable date is 2024-12-01,
and 2024-11-01 is refused. Windows can also be given as fixed dates (:func:`fixed_windows`).

**Retraining layout** ``layout: recent`` (:func:`recent_windows`): the ``window_months`` (12) most recent
matured cohorts ``T-18 .. T-7`` are split in time order inside that window — OOT the latest matured month
(``T-7``), test and validation the months before it (1 each), train the rest (``T-18 .. T-10``, 9 months).
A retrain at ``T`` then learns from cohorts up to ``T-10`` (``standard``: ``T-12``) and is measured on the
latest matured cohort; 18 months of history are needed instead of 23. The batch-lag rule is the same for both
layouts (train and validation months are never scored).

Every function here is pure (no I/O): the same arithmetic serves training, the inference batch-lag rule and the
tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kycc.temporal.months import add_months, format_months, month_range, months_between, to_month

__all__ = [
    "WINDOW_NAMES",
    "InsufficientHistoryError",
    "Window",
    "WindowSizes",
    "TrainingWindows",
    "check_history",
    "first_trainable_date",
    "first_training_date_learning",
    "fixed_windows",
    "recent_windows",
    "windows_from_config",
    "windows_from_training_date",
]

WINDOW_NAMES = ("train", "validation", "test", "oot")


class InsufficientHistoryError(ValueError):
    """The data do not cover the months the training windows need (or a window is empty)."""


@dataclass(frozen=True)
class Window:
    """A window of application months, ``start`` and ``end`` included (both first-of-month dates)."""

    name: str
    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", to_month(self.start))
        object.__setattr__(self, "end", to_month(self.end))
        if self.end < self.start:
            raise ValueError(f"Window {self.name!r} ends ({self.end}) before it starts ({self.start})")

    @property
    def months(self) -> list[dt.date]:
        return month_range(self.start, self.end)

    @property
    def n_months(self) -> int:
        return months_between(self.start, self.end) + 1

    def contains(self, month: Any) -> bool:
        return self.start <= to_month(month) <= self.end

    def __str__(self) -> str:
        return f"{self.name} {format_months(self.months)}"


def _check_whole_months(sizes: Any, names: tuple[str, ...], prefix: str) -> None:
    for name in names:
        value = getattr(sizes, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"training.windows.{prefix}{name} must be a whole number of months >= 1, got {value!r}"
            )


@dataclass(frozen=True)
class WindowSizes:
    """Window sizes in months (parameters ``training.windows``)."""

    train_months: int = 12
    validation_months: int = 2
    test_months: int = 2
    oot_months: int = 1
    label_maturity_months: int = 6

    def __post_init__(self) -> None:
        _check_whole_months(self, ("train_months", "validation_months", "test_months", "oot_months"), "")
        m = self.label_maturity_months
        if not isinstance(m, int) or isinstance(m, bool) or m < 0:
            raise ValueError(f"training.windows.label_maturity_months must be >= 0, got {m!r}")

    @property
    def history_months(self) -> int:
        """Months of history before ``T`` that training needs (23 by default)."""
        return (
            self.train_months
            + self.validation_months
            + self.test_months
            + self.oot_months
            + self.label_maturity_months
        )


@dataclass(frozen=True)
class TrainingWindows:
    """The four windows of one training run and the training date ``T`` they were counted from."""

    training_date: dt.date
    train: Window
    validation: Window
    test: Window
    oot: Window
    label_maturity_months: int
    mode: str = "relative"
    layout: str = "standard"

    def __post_init__(self) -> None:
        object.__setattr__(self, "training_date", to_month(self.training_date))
        ordered = [self.train, self.validation, self.test, self.oot]
        for w, name in zip(ordered, WINDOW_NAMES, strict=True):
            if w.name != name:
                raise ValueError(f"Expected window {name!r}, got {w.name!r}")
        for earlier, later in zip(ordered, ordered[1:], strict=False):
            if not earlier.end < later.start:
                raise ValueError(
                    f"Windows overlap or are out of order: {earlier} must end before {later} starts "
                    f"(train < validation < test < oot)"
                )
        matured_by = add_months(self.oot.end, self.label_maturity_months)
        if not matured_by < self.training_date:
            raise ValueError(
                f"The OOT window ({format_months(self.oot.months)}) has not matured by the training date "
                f"{self.training_date}: its labels need {self.label_maturity_months} months (until "
                f"{matured_by:%Y-%m}), so the training date must be {add_months(matured_by, 1)} or later"
            )

    @property
    def windows(self) -> tuple[Window, Window, Window, Window]:
        return (self.train, self.validation, self.test, self.oot)

    @property
    def history_start(self) -> dt.date:
        """First month of history used (the first train month)."""
        return self.train.start

    @property
    def history_end(self) -> dt.date:
        """Last month of history used (``T - 1``): the month the OOT labels matured."""
        return add_months(self.training_date, -1)

    @property
    def history_months(self) -> int:
        return months_between(self.history_start, self.history_end) + 1

    @property
    def needed_months(self) -> list[dt.date]:
        """Application months the windows use (every window month)."""
        return [m for w in self.windows for m in w.months]

    def window_of(self, month: Any) -> str | None:
        """The name of the window holding application month ``month``, or None."""
        for w in self.windows:
            if w.contains(month):
                return w.name
        return None

    def assign(self, dates: pd.Series) -> pd.Series:
        """The window name of each date in ``dates`` (``None`` outside every window)."""
        months = pd.to_datetime(dates).dt.to_period("M").dt.to_timestamp()
        out = pd.Series(pd.NA, index=dates.index, dtype="string")
        for w in self.windows:
            mask = (months >= pd.Timestamp(w.start)) & (months <= pd.Timestamp(w.end))
            out[mask] = w.name
        return out

    def describe(self) -> str:
        return (
            f"training date {self.training_date}: "
            + "; ".join(str(w) for w in self.windows)
            + f"; label maturity {self.label_maturity_months} months "
            f"({add_months(self.oot.end, 1):%Y-%m}..{self.history_end:%Y-%m})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (ISO dates), the inverse of :meth:`from_dict`."""
        return {
            "mode": self.mode,
            "layout": self.layout,
            "training_date": self.training_date.isoformat(),
            "label_maturity_months": self.label_maturity_months,
            "history_start": self.history_start.isoformat(),
            "history_end": self.history_end.isoformat(),
            "history_months": self.history_months,
            **{
                w.name: {"start": w.start.isoformat(), "end": w.end.isoformat(), "months": w.n_months}
                for w in self.windows
            },
        }

    def to_flat_dict(self, prefix: str = "window") -> dict[str, str]:
        """``{"window.train.start": "2023-01-01", ...}`` for MLflow params/tags."""
        out = {
            f"{prefix}.training_date": self.training_date.isoformat(),
            f"{prefix}.label_maturity_months": str(self.label_maturity_months),
            f"{prefix}.mode": self.mode,
            f"{prefix}.layout": self.layout,
        }
        for w in self.windows:
            out[f"{prefix}.{w.name}.start"] = w.start.isoformat()
            out[f"{prefix}.{w.name}.end"] = w.end.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingWindows:
        return cls(
            training_date=to_month(data["training_date"]),
            **{name: Window(name, data[name]["start"], data[name]["end"]) for name in WINDOW_NAMES},
            label_maturity_months=int(data["label_maturity_months"]),
            mode=data.get("mode", "relative"),
            layout=data.get("layout", "standard"),
        )


def windows_from_training_date(training_date: Any, sizes: WindowSizes | None = None) -> TrainingWindows:
    """Relative windows counted back from ``training_date`` (see the module docstring)."""
    sizes = sizes or WindowSizes()
    t = to_month(training_date)
    oot_end = add_months(t, -(sizes.label_maturity_months + 1))
    oot = Window("oot", add_months(oot_end, -(sizes.oot_months - 1)), oot_end)
    test = Window("test", add_months(oot.start, -sizes.test_months), add_months(oot.start, -1))
    validation = Window(
        "validation", add_months(test.start, -sizes.validation_months), add_months(test.start, -1)
    )
    train = Window(
        "train", add_months(validation.start, -sizes.train_months), add_months(validation.start, -1)
    )
    return TrainingWindows(t, train, validation, test, oot, sizes.label_maturity_months, mode="relative")


@dataclass(frozen=True)
class RecentLayout:
    """``training.windows.recent``: sizes of the ``recent`` retraining layout (months)."""

    window_months: int = 12
    validation_months: int = 1
    test_months: int = 1
    oot_months: int = 1

    def __post_init__(self) -> None:
        _check_whole_months(
            self, ("window_months", "validation_months", "test_months", "oot_months"), "recent."
        )
        if self.train_months < 1:
            raise ValueError(
                f"training.windows.recent.window_months ({self.window_months}) leaves no train month after "
                f"validation {self.validation_months} + test {self.test_months} + oot {self.oot_months}"
            )

    @property
    def train_months(self) -> int:
        return self.window_months - self.validation_months - self.test_months - self.oot_months


def recent_windows(
    training_date: Any, layout: RecentLayout | None = None, label_maturity_months: int = 6
) -> TrainingWindows:
    """The ``recent`` retraining layout: the latest ``window_months`` matured cohorts, split in time order.

    With ``T = 2025-06-01`` and the defaults: window 2023-12..2024-11; OOT 2024-11 (the latest matured month,
    ``T-7``), test 2024-10, validation 2024-09, train 2023-12..2024-08 (``T-18 .. T-10``).
    """
    layout = layout or RecentLayout()
    sizes = WindowSizes(
        train_months=layout.train_months,
        validation_months=layout.validation_months,
        test_months=layout.test_months,
        oot_months=layout.oot_months,
        label_maturity_months=label_maturity_months,
    )
    tw = windows_from_training_date(training_date, sizes)
    return TrainingWindows(
        tw.training_date, tw.train, tw.validation, tw.test, tw.oot, tw.label_maturity_months, layout="recent"
    )


def fixed_windows(
    training_date: Any,
    *,
    train: tuple[Any, Any],
    validation: tuple[Any, Any],
    test: tuple[Any, Any],
    oot: tuple[Any, Any],
    label_maturity_months: int = 6,
) -> TrainingWindows:
    """Windows given as fixed ``(start, end)`` month pairs (both included); ordered, never overlapping."""
    pairs = {"train": train, "validation": validation, "test": test, "oot": oot}
    built = {}
    for name, pair in pairs.items():
        if pair is None or len(pair) != 2:
            raise ValueError(f"training.windows.fixed.{name} must be [start, end], got {pair!r}")
        built[name] = Window(name, pair[0], pair[1])
    return TrainingWindows(
        to_month(training_date), **built, label_maturity_months=int(label_maturity_months), mode="fixed"
    )


def first_trainable_date(first_month: Any, sizes: WindowSizes | None = None) -> dt.date:
    """The earliest training date for data starting at ``first_month`` (2024-12-01 for 2023-01-01)."""
    sizes = sizes or WindowSizes()
    return add_months(first_month, sizes.history_months)


def windows_from_config(config: dict[str, Any], training_date: Any) -> TrainingWindows:
    """Build windows from the ``training.windows`` parameters.

    ``mode: relative`` uses the sizes (``train_months`` …); ``mode: fixed`` uses ``fixed: {train: [start, end],
    validation: …, test: …, oot: …}``. ``layout: recent`` (relative mode only) uses ``recent: {window_months,
    validation_months, test_months, oot_months}`` instead of the sizes (:func:`recent_windows`);
    ``layout: standard`` (the default) the sizes.
    """
    config = dict(config or {})
    mode = config.pop("mode", "relative")
    fixed = config.pop("fixed", None)
    layout = config.pop("layout", "standard") or "standard"
    recent = config.pop("recent", None)
    sizes = WindowSizes(**{k: v for k, v in config.items() if k in WindowSizes.__dataclass_fields__})
    unknown = set(config) - set(WindowSizes.__dataclass_fields__)
    if unknown:
        raise ValueError(f"Unknown keys in training.windows: {sorted(unknown)}")
    if layout not in {"standard", "recent"}:
        raise ValueError(f"training.windows.layout must be 'standard' or 'recent', got {layout!r}")
    if layout == "recent":
        if mode != "relative":
            raise ValueError("training.windows.layout 'recent' needs mode 'relative' (fixed dates are fixed)")
        recent = dict(recent or {})
        unknown = set(recent) - set(RecentLayout.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown keys in training.windows.recent: {sorted(unknown)}")
        return recent_windows(training_date, RecentLayout(**recent), sizes.label_maturity_months)
    if mode == "relative":
        return windows_from_training_date(training_date, sizes)
    if mode == "fixed":
        if not isinstance(fixed, dict):
            raise ValueError("training.windows.mode is 'fixed' but training.windows.fixed is not set")
        missing = [n for n in WINDOW_NAMES if n not in fixed]
        if missing:
            raise ValueError(
                f"training.windows.fixed is missing {missing} (needs train, validation, test, oot)"
            )
        return fixed_windows(
            training_date,
            **{n: tuple(fixed[n]) for n in WINDOW_NAMES},
            label_maturity_months=sizes.label_maturity_months,
        )
    raise ValueError(f"training.windows.mode must be 'relative' or 'fixed', got {mode!r}")


def first_training_date_learning(cohort: Any, config: dict[str, Any] | None = None) -> dt.date:
    """The earliest training date whose **train** window holds application month ``cohort``.

    For relative windows (either layout) the train window ends ``oot + test + validation + maturity + 1`` months
    before ``T``: with the defaults the drifted cohort 2024-09 is first learnt at 2025-09 (``standard``, train
    ends at ``T-12``) and at 2025-07 (``recent``, train ends at ``T-10``).
    """
    config = dict(config or {})
    if config.get("mode", "relative") != "relative":
        raise ValueError("first_training_date_learning needs relative windows (fixed windows do not move)")
    probe = windows_from_config(config, add_months(cohort, 120))
    lag = months_between(probe.train.end, probe.training_date)
    return add_months(cohort, lag)


def check_history(windows: TrainingWindows, available_months: Iterable[Any]) -> None:
    """Refuse, with one clear message, when the data do not cover every window month.

    Args:
        windows: The training windows.
        available_months: Application months present in the (labelled) model input.

    Raises:
        InsufficientHistoryError: naming the months needed, the months available and what to do.
    """
    available = sorted({to_month(m) for m in available_months})
    if not available:
        raise InsufficientHistoryError(
            "The model input has no labelled loans: nothing to train on. Build it first "
            "(`kedro run --pipelines label_store,feature_store,model_input`) or point `mdl_model_input` at "
            "your own table (see docs/training.md)."
        )
    needed = windows.needed_months
    missing = [m for m in needed if m not in set(available)]
    if not missing:
        return
    first, last = available[0], available[-1]
    sizes_text = ", ".join(f"{w.name} {w.n_months}" for w in windows.windows)
    lines = [
        f"Not enough history to train at training date {windows.training_date}.",
        f"  Needed: {windows.history_months} months of history before it, "
        f"{windows.history_start:%Y-%m}..{windows.history_end:%Y-%m} ({sizes_text} months of applications "
        f"+ {windows.label_maturity_months} months of label maturity):",
        *[f"    {w}" for w in windows.windows],
        f"  Available application months in the model input: {format_months(available)}.",
        f"  Missing: {format_months(missing)}.",
    ]
    if windows.mode == "relative":
        sizes = WindowSizes(
            *(w.n_months for w in windows.windows), label_maturity_months=windows.label_maturity_months
        )
        earliest = first_trainable_date(first, sizes)
        latest = add_months(last, windows.label_maturity_months + 1)
        if earliest <= latest:
            lines.append(
                f"  With this data the training date can be {earliest} .. {latest} "
                f"(e.g. `kedro run --pipelines training --params training.training_date={earliest}`), "
                "or add older history / shorten the windows in parameters_training.yml."
            )
        else:
            lines.append(
                f"  This data spans {months_between(first, last) + 1} application months; the windows need "
                f"{len(needed)} (+{windows.label_maturity_months} months of maturity): add history or "
                "shorten training.windows in parameters_training.yml."
            )
    else:
        lines.append("  Change training.windows.fixed (or the training date) so every window has data.")
    raise InsufficientHistoryError("\n".join(lines))
