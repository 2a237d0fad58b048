"""Project pipelines: one folder per pipeline under ``kycc.pipelines``."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Pipelines run by ``kedro run`` with no --pipelines, in data order. issue_mining is a separate domain and is
# run on its own.
DEFAULT_PIPELINES = ("label_store", "feature_store", "model_input")


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipelines[name] for name in DEFAULT_PIPELINES if name in pipelines), start=Pipeline([])
    )
    return pipelines
