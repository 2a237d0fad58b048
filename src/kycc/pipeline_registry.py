"""Project pipelines: one folder per pipeline under ``kycc.pipelines``."""

from importlib.resources import files

from kedro.framework.project import find_pipelines, pipelines
from kedro.pipeline import Pipeline

from kycc.params.errors import UserError, user_error

# Pipelines run by ``kedro run`` with no --pipelines, in data order. issue_mining is a separate domain and is
# run on its own.
DEFAULT_PIPELINES = ("label_store", "feature_store", "model_input")


class UnknownPipelineError(UserError, KeyError):
    """``kedro run --pipelines <name>`` with a name that is no pipeline of the project."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def available_pipelines() -> list[str]:
    """The pipeline folders of ``kycc.pipelines`` (without importing them)."""
    return sorted(
        p.name
        for p in files("kycc.pipelines").iterdir()
        if p.is_dir() and not p.name.startswith((".", "_")) and (p / "__init__.py").is_file()
    )


def _check_requested(requested: list[str] | None) -> None:
    """A misspelt ``--pipelines`` name is one line listing the available ones (Kedro would raise an ImportError
    while importing ``kycc.pipelines.<name>``)."""
    available = available_pipelines()
    unknown = [n for n in requested or [] if n != "__default__" and n not in available]
    if unknown:
        raise user_error(
            f"no pipeline '{unknown[0]}'; available: {', '.join(available)}", UnknownPipelineError
        )


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    from kycc.pipelines.scorecard.pipeline import with_config_versions

    _check_requested(getattr(pipelines, "_requested_pipelines", None))
    # the pipelines that read the scorecard store declare the configuration's versions themselves
    found = with_config_versions(find_pipelines(raise_errors=True))
    found["__default__"] = sum(
        (found[name] for name in DEFAULT_PIPELINES if name in found), start=Pipeline([])
    )
    return found
