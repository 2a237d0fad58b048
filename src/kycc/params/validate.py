"""Validate the whole merged parameters tree against the models, naming the key and the file.

Run at session start by :class:`kycc.params.hooks.ParamsHooks` (``after_context_created``), before any node, for
every pipeline: a misspelt key in ``--params`` or in a ``conf/<env>/parameters*.yml`` file is one line,
``unknown parameter 'inference.strat_month' (from --params); valid keys of inference: … (conf/base/…)``.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kycc.params.actions import ActionsParams, RecalibrationParams
from kycc.params.errors import UserError, user_error
from kycc.params.inference import InferenceParams
from kycc.params.monitoring import MonitoringParams, PsiLevels, StabilityParams
from kycc.params.run import RunParams
from kycc.params.training import TrainingParams

#: Top-level parameters sections with a model. Other sections (scorecard, issue_mining, …) are only checked for
#: a misspelt top-level key given with --params.
SECTIONS: dict[str, type[BaseModel]] = {
    "run": RunParams,
    "inference": InferenceParams,
    "monitoring": MonitoringParams,
    "psi_levels": PsiLevels,
    "stability": StabilityParams,
    "actions": ActionsParams,
    "recalibration": RecalibrationParams,
    "training": TrainingParams,
}


class ParameterError(UserError, ValueError):
    """A parameter the models reject (unknown, missing or of the wrong type)."""


def _has_path(tree: Any, path: tuple[Any, ...]) -> bool:
    for part in path:
        if not isinstance(tree, Mapping) or part not in tree:
            return False
        tree = tree[part]
    return True


def parameter_files(conf_source: str | Path, envs: Iterable[str]) -> list[Path]:
    """The parameters files Kedro reads for ``envs`` (the run env first, then base)."""
    files: list[Path] = []
    for env in envs:
        folder = Path(conf_source) / env
        if folder.is_dir():
            files.extend(sorted(p for p in folder.rglob("parameters*.y*ml") if p.is_file()))
    return files


def _file_with(files: list[Path], path: tuple[Any, ...]) -> Path | None:
    for file in files:
        try:
            tree = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        if _has_path(tree, path):
            return file
    return None


def _inner(annotation: Any) -> Any:
    """The model inside an annotation: ``X | None`` -> X, ``dict[str, X]`` -> X, ``list[X]`` -> X."""
    for _ in range(5):
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if not args:
            return None
        annotation = args[-1]
    return None


def _model_at(model: type[BaseModel], path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model that holds the keys below ``path`` (keys of free-form dicts, such as a metric name, are
    stepped over)."""
    current: type[BaseModel] | None = model
    for part in path:
        if current is None:
            return None
        if part in current.model_fields:
            current = _inner(current.model_fields[part].annotation)
        # else: the key of a dict[str, Model] (already stepped into its value model)
    return current


def _show(path: Iterable[Any]) -> str:
    return ".".join(str(p) for p in path)


def _rel(file: Path | None, root: Path | None) -> str:
    if file is None:
        return "?"
    try:
        return str(file.relative_to(root)) if root else str(file)
    except ValueError:
        return str(file)


def _message(
    section: str,
    model: type[BaseModel],
    error: dict[str, Any],
    runtime: Mapping[str, Any],
    files: list[Path],
    root: Path | None,
) -> str:
    loc = tuple(error["loc"])
    key = _show((section, *loc))
    if _has_path(runtime, (section, *loc)):
        source = "from --params"
    elif files:
        source = f"in {_rel(_file_with(files, (section, *loc)), root)}"
    else:  # a direct call (kycc.params.sections.load_section): the value was given, not read from a file
        source = "given"
    home = (
        _rel(_file_with(files[::-1], (section,)) or _file_with(files, (section,)), root)
        if files
        else ("conf/base/parameters*.yml")
    )
    if error["type"] == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        where = _show((section, *loc[:-1]))
        valid = ", ".join(sorted(parent.model_fields)) if parent else "?"
        return f"unknown parameter '{key}' ({source}); valid keys of {where}: {valid} (see {home})"
    if error["type"] == "missing":
        return f"missing parameter '{key}' (its default belongs in {home})"
    if not loc:  # a rule between keys (a model validator): its message names them
        return f"parameter '{key}' ({source}): {error['msg'].removeprefix('Value error, ')} (see {home})"
    return f"parameter '{key}' ({source}): {error['msg']}, got {error.get('input')!r} (see {home})"


def validate_parameters(
    params: Mapping[str, Any],
    *,
    runtime_params: Mapping[str, Any] | None = None,
    config_params: Mapping[str, Any] | None = None,
    files: list[Path] | None = None,
    root: Path | None = None,
) -> dict[str, BaseModel]:
    """The validated sections of the merged ``params`` (``--params`` included); raises :class:`ParameterError`.

    ``config_params``: the parameters from the files only (a top-level ``--params`` key absent from them is
    misspelt). ``files``: the parameters files, to name where a key is (run env first, then base).
    """
    runtime = runtime_params or {}
    files = files or []
    if config_params is not None:
        unknown = sorted(k for k in runtime if k not in config_params)
        if unknown:
            raise user_error(
                f"unknown parameter section '{unknown[0]}' (from --params); sections: "
                + ", ".join(sorted(config_params)),
                ParameterError,
            )
    models: dict[str, BaseModel] = {}
    for section, model in SECTIONS.items():
        if section not in params:
            continue
        try:
            models[section] = model.model_validate(params[section] or {})
        except ValidationError as exc:
            errors = exc.errors()
            message = _message(section, model, errors[0], runtime, files, root)
            if len(errors) > 1:
                message += f" (and {len(errors) - 1} more)"
            raise user_error(message, ParameterError) from None
    return models
