"""The ``issue_mining`` parameters as pydantic models: a wrong key or value fails with a message naming it."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ClusteringConfig",
    "CollectConfig",
    "EmbeddingConfig",
    "LabellingConfig",
    "PocketBaseConfig",
    "SummariesConfig",
    "parse_run_date",
]


def parse_run_date(value: Any) -> date:
    """``issue_mining.run_date`` as a date (``YYYY-MM-DD`` string or date).

    Raises:
        ValueError: Not a valid date.
    """
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError(f"issue_mining.run_date must be a YYYY-MM-DD date, got {value!r}") from exc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _SourceSettings(BaseModel):
    model_config = ConfigDict(extra="allow")

    queries: list[str] = Field(min_length=1)
    max_pages: int = Field(10, ge=1, le=100)
    mode: Literal["auto", "live", "recorded", "samples"] | None = None  # None: collect.mode


class CollectConfig(_Strict):
    mode: Literal["auto", "live", "recorded", "samples"] = "auto"  # samples: the earlier name of recorded
    sources: list[Literal["github", "stackexchange", "reddit", "hackernews"]] = Field(
        default_factory=lambda: ["github", "stackexchange", "reddit", "hackernews"], min_length=1
    )
    window_seconds: float = Field(60.0, gt=0)
    rate_limits: dict[str, int] = Field(
        default_factory=lambda: {"github": 30, "stackexchange": 30, "reddit": 60, "hackernews": 100}
    )
    max_retries: int = Field(4, ge=0, le=10)
    backoff_seconds: float = Field(2.0, ge=0)
    max_body_chars: int = Field(8000, ge=100)
    github: _SourceSettings
    stackexchange: _SourceSettings
    reddit: _SourceSettings
    hackernews: _SourceSettings

    @field_validator("rate_limits")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        for source in ("github", "stackexchange", "reddit", "hackernews"):
            if int(value.get(source, 0)) < 1:
                raise ValueError(f"rate_limits.{source} must be a positive number of requests per window")
        return value


class EmbeddingConfig(_Strict):
    batch_size: int = Field(1000, ge=1)
    max_text_chars: int = Field(2000, ge=50)


class ClusteringConfig(_Strict):
    min_clusters: int = Field(10, ge=1)
    items_per_cluster: int = Field(100, ge=1)
    random_state: int = 42
    batch_size: int = Field(1024, ge=1)
    n_init: int = Field(3, ge=1)
    min_silhouette: float = Field(0.1, ge=-1, le=1)


class SummariesConfig(_Strict):
    sentences: int = Field(3, ge=1)
    max_items: int = Field(10, ge=1)
    max_sentences: int = Field(200, ge=3)
    max_chars: int = Field(30_000, ge=100)


class LabellingConfig(_Strict):
    mode: Literal["auto", "llm", "offline"] = "auto"
    model: str | None = None
    api_base: str | None = None
    timeout_seconds: float = Field(30.0, gt=0)
    num_retries: int = Field(2, ge=0, le=10)
    max_invalid_retries: int = Field(2, ge=0, le=10)
    max_concurrency: int = Field(8, ge=1, le=8)
    response_format: Literal["json_schema", "json_object", "none"] = "json_schema"
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(400, ge=50)
    max_titles: int = Field(10, ge=1, le=50)


class PocketBaseConfig(_Strict):
    enabled: bool = True
    required: bool = False
    issues_collection: str = Field("kycc_issues", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    evidence_collection: str = Field("kycc_issue_evidence", pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
