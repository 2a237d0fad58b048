"""issue_mining: product-opportunity mining from GitHub, StackOverflow, Reddit and Hacker News."""

from kycc.pipelines.issue_mining.pipeline import create_pipeline

__all__ = ["create_pipeline"]
