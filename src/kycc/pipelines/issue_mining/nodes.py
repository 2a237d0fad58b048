"""Nodes of the issue_mining pipeline: thin functions over ``kycc.mining``; all I/O is in the catalog.

Date-partitioned outputs are returned as ``DatePartition(run_date, rows)``, which the DuckDB dataset saves by
replacing that date's rows: re-running a date replaces it, even when the new run has no rows.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from kycc.credentials import is_placeholder
from kycc.mining.clustering import cluster_embeddings
from kycc.mining.config import (
    ClusteringConfig,
    CollectConfig,
    EmbeddingConfig,
    LabellingConfig,
    PocketBaseConfig,
    SummariesConfig,
    parse_run_date,
)
from kycc.mining.embeddings import EMBEDDING_DIM, Embedder
from kycc.mining.items import BRONZE_COLUMNS, QUARANTINE_COLUMNS, item_text, to_bronze_rows
from kycc.mining.labelling import ClusterPrompt, LLMAccess, build_labeller, label_clusters
from kycc.mining.pocketbase import PocketBaseAccess, PocketBaseError, PocketBaseUnreachable, sync_issues
from kycc.mining.sources import SourceAccess, collect_sources
from kycc.mining.store import TABLES, DatePartition
from kycc.mining.summaries import lexrank_summary, nearest_items

logger = logging.getLogger(__name__)

_CLUSTER_COLUMNS = list(TABLES["silver.clusters"]["columns"])
_ISSUE_COLUMNS = list(TABLES["gold.issues"]["columns"])
_EVIDENCE_COLUMNS = list(TABLES["gold.issue_evidence"]["columns"])
_FAILURE_COLUMNS = list(TABLES["gold.label_failures"]["columns"])


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _day_items(raw_items: pd.DataFrame, run_date: Any) -> pd.DataFrame:
    """The bronze rows collected on ``run_date``, sorted by url_hash (a stable order for every later step)."""
    day = parse_run_date(run_date)
    if raw_items.empty:
        return pd.DataFrame(columns=BRONZE_COLUMNS)
    dates = pd.to_datetime(raw_items["collection_date"]).dt.date
    return raw_items.loc[dates == day].sort_values("url_hash").reset_index(drop=True)


def _of_day(frame: pd.DataFrame, day: Any) -> pd.DataFrame:
    """The rows of ``frame`` whose ``cluster_date`` is ``day``."""
    if not len(frame):
        return frame
    return frame.loc[pd.to_datetime(frame["cluster_date"]).dt.date == day].reset_index(drop=True)


def _day_assignments(item_clusters: pd.DataFrame, run_date: Any) -> pd.DataFrame:
    day = parse_run_date(run_date)
    if item_clusters.empty:
        return pd.DataFrame(columns=["url_hash", "cluster_date", "cluster_id"])
    frame = item_clusters.dropna(subset=["cluster_date"])
    frame = frame.loc[pd.to_datetime(frame["cluster_date"]).dt.date == day].copy()
    frame["cluster_id"] = frame["cluster_id"].astype(int)
    return frame


# -- bronze -----------------------------------------------------------------------------------------------------


def collect_raw_items(
    access: SourceAccess, stored_index: pd.DataFrame, run_date: Any, collect: dict[str, Any]
) -> tuple[DatePartition, DatePartition, dict[str, Any]]:
    """Collect the day's items from every source, normalise URLs, validate, deduplicate.

    Args:
        access: API credentials and roots (``issue_mining.api_access``), samples folder.
        stored_index: ``url_hash`` and ``collection_date`` of the items already stored (first seen wins).
        run_date: The day to collect (``YYYY-MM-DD``).
        collect: ``issue_mining.collect`` parameters.

    Returns:
        The bronze rows of the day, the quarantined items of the day (with reasons), and a report.
    """
    day = parse_run_date(run_date)
    config = CollectConfig.model_validate(collect)
    items, sources = collect_sources(access, day, config.model_dump())
    stored_dates = (
        pd.to_datetime(stored_index["collection_date"]).dt.date if len(stored_index) else pd.Series([])
    )
    seen_elsewhere = set(stored_index.loc[stored_dates != day, "url_hash"]) if len(stored_index) else set()
    rows, quarantined, counts = to_bronze_rows(items, day, seen_elsewhere, config.max_body_chars)
    frame = pd.DataFrame(rows, columns=BRONZE_COLUMNS)
    per_source = frame["source"].value_counts().to_dict() if len(frame) else {}
    for source, info in sources.items():
        info["stored"] = int(per_source.get(source, 0))
    for reason in quarantined:
        logger.warning(
            "quarantined %s item %s: %s", reason["source"], reason["external_id"], reason["reason"]
        )
    logger.info(
        "collected %d items for %s: %d stored, %d duplicates, %d seen on earlier dates, %d quarantined",
        counts["fetched"],
        day,
        counts["stored"],
        counts["duplicates"],
        counts["already_seen"],
        counts["quarantined"],
    )
    report = {"run_date": day.isoformat(), **counts, "sources": sources}
    return (
        DatePartition(day, frame),
        DatePartition(day, pd.DataFrame(quarantined, columns=QUARANTINE_COLUMNS)),
        report,
    )


# -- silver -----------------------------------------------------------------------------------------------------


def embed_new_items(
    raw_items: pd.DataFrame,
    embedded_index: pd.DataFrame,
    embedder: Embedder,
    run_date: Any,
    embedding: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Embed title + body of the day's items that have no embedding yet (cached by url_hash).

    Returns:
        New ``silver.items`` rows (url_hash, embedding, embedding_date) to upsert, and a report.

    Raises:
        ValueError: The model returned vectors that are not finite, 384-d and unit length.
    """
    config = EmbeddingConfig.model_validate(embedding)
    day = parse_run_date(run_date)
    items = _day_items(raw_items, day)
    done = set(embedded_index["url_hash"]) if len(embedded_index) else set()
    todo = items.loc[~items["url_hash"].isin(done)]
    texts = [item_text(t, b, config.max_text_chars) for t, b in zip(todo["title"], todo["body"], strict=True)]
    vectors = embedder.embed(texts, batch_size=config.batch_size) if texts else np.zeros((0, EMBEDDING_DIM))
    if len(vectors) and (
        not np.isfinite(vectors).all() or not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    ):
        raise ValueError("embedding model returned non-finite or non-unit vectors")
    rows = pd.DataFrame(
        {
            "url_hash": todo["url_hash"].tolist(),
            "embedding": list(vectors.astype(np.float32)),
            "embedding_date": [day] * len(todo),
        }
    )
    report = {"items": len(items), "embedded": len(todo), "cached": len(items) - len(todo)}
    logger.info("embeddings for %s: %d new, %d cached", day, report["embedded"], report["cached"])
    return rows, report


def cluster_items(
    raw_items: pd.DataFrame, silver_items: pd.DataFrame, run_date: Any, clustering: dict[str, Any]
) -> tuple[DatePartition, DatePartition, dict[str, Any]]:
    """Cluster the day's items with MiniBatchKMeans (``n_clusters = max(10, n // 100)``, at most n).

    Returns:
        Cluster assignments of the day's ``silver.items``, the day's ``silver.clusters`` (no summary yet), a report.

    Raises:
        ValueError: Some of the day's items have no embedding.
    """
    config = ClusteringConfig.model_validate(clustering)
    day = parse_run_date(run_date)
    items = _day_items(raw_items, day)
    vectors_by_hash = (
        dict(zip(silver_items["url_hash"], silver_items["embedding"], strict=True))
        if len(silver_items)
        else {}
    )
    missing = [h for h in items["url_hash"] if h not in vectors_by_hash]
    if missing:
        raise ValueError(
            f"{len(missing)} items of {day} have no embedding in silver.items (e.g. {missing[0]}): "
            "run the embedding step first"
        )
    matrix = np.asarray([vectors_by_hash[h] for h in items["url_hash"]], dtype=np.float32).reshape(
        -1, EMBEDDING_DIM
    )
    result = cluster_embeddings(
        matrix,
        min_clusters=config.min_clusters,
        items_per_cluster=config.items_per_cluster,
        random_state=config.random_state,
        batch_size=config.batch_size,
        n_init=config.n_init,
    )
    assignments = pd.DataFrame(
        {
            "url_hash": items["url_hash"],
            "cluster_date": [day] * len(items),
            "cluster_id": result.labels.astype(int),
            "centroid_similarity": result.centroid_similarity,
        }
    )
    poor = result.silhouette < config.min_silhouette
    clusters = pd.DataFrame(
        {
            "cluster_date": [day] * result.n_clusters,
            "cluster_id": np.arange(result.n_clusters, dtype=int),
            "cluster_size": result.sizes.astype(int),
            "confidence": result.confidence,
            "summary": [None] * result.n_clusters,
            "silhouette": result.silhouette,
            "poor_quality": poor,
        },
        columns=_CLUSTER_COLUMNS,
    )
    flagged = [int(c) for c in np.flatnonzero(poor)]
    report = {
        "items": len(items),
        "clusters": result.n_clusters,
        "largest": int(result.sizes.max()) if result.n_clusters else 0,
        "silhouette": round(result.overall_silhouette, 4),
        "min_silhouette": config.min_silhouette,
        "poor_clusters": flagged,
    }
    if flagged:
        logger.warning(
            "%s: %d of %d clusters have a silhouette below %.3f (poor, flagged in silver.clusters.poor_quality): "
            "%s",
            day,
            len(flagged),
            result.n_clusters,
            config.min_silhouette,
            ", ".join(f"{c} ({result.silhouette[c]:.3f})" for c in flagged),
        )
    return DatePartition(day, assignments), DatePartition(day, clusters), report


def _texts_by_cluster(
    raw_items: pd.DataFrame, item_clusters: pd.DataFrame, run_date: Any
) -> dict[int, pd.DataFrame]:
    items = _day_items(raw_items, run_date)
    assignments = _day_assignments(item_clusters, run_date)
    if "centroid_similarity" not in assignments.columns:
        assignments = assignments.assign(centroid_similarity=np.nan)
    merged = items.merge(
        assignments[["url_hash", "cluster_id", "centroid_similarity"]], on="url_hash", how="inner"
    )
    return {int(k): v.sort_values("url_hash") for k, v in merged.groupby("cluster_id")}


def _nearest(group: pd.DataFrame, max_items: int) -> list[int]:
    """Positions in ``group`` of its items nearest the cluster centroid (see ``summaries.nearest_items``)."""
    similarity = (
        group["centroid_similarity"].tolist() if "centroid_similarity" in group else [None] * len(group)
    )
    return nearest_items(group["url_hash"].tolist(), similarity, max_items)


def summarise_clusters(
    raw_items: pd.DataFrame,
    item_clusters: pd.DataFrame,
    clusters: pd.DataFrame,
    run_date: Any,
    summaries: dict[str, Any],
) -> tuple[DatePartition, dict[str, Any]]:
    """A 3-sentence LexRank summary per cluster of the day, from its (up to) 10 items nearest the centroid.

    Returns:
        ``silver.clusters`` summaries of the day (cluster_date, cluster_id, summary) and a report.
    """
    config = SummariesConfig.model_validate(summaries)
    day = parse_run_date(run_date)
    groups = _texts_by_cluster(raw_items, item_clusters, day)
    day_clusters = (
        clusters.loc[pd.to_datetime(clusters["cluster_date"]).dt.date == day] if len(clusters) else clusters
    )
    rows = []
    for cluster_id in sorted(int(c) for c in day_clusters["cluster_id"]):
        group = groups.get(cluster_id, pd.DataFrame(columns=BRONZE_COLUMNS))
        picked = _nearest(group, config.max_items)
        texts = [item_text(group.iloc[i]["title"], group.iloc[i]["body"], config.max_chars) for i in picked]
        summary = lexrank_summary(texts, config.sentences, config.max_sentences, config.max_chars)
        rows.append({"cluster_date": day, "cluster_id": cluster_id, "summary": summary})
        if len(rows) % 25 == 0:
            logger.info("summarised %d/%d clusters", len(rows), len(day_clusters))
    frame = pd.DataFrame(rows, columns=["cluster_date", "cluster_id", "summary"])
    return DatePartition(day, frame), {
        "clusters": len(frame),
        "empty": int((frame["summary"] == "").sum()) if len(frame) else 0,
    }


# -- gold -------------------------------------------------------------------------------------------------------


def label_issues(
    *,
    raw_items: pd.DataFrame,
    item_clusters: pd.DataFrame,
    clusters: pd.DataFrame,
    published: pd.DataFrame,
    llm_access: LLMAccess,
    run_date: Any,
    labelling: dict[str, Any],
) -> tuple[DatePartition, DatePartition, dict[str, Any], dict[str, Any]]:
    """Label each cluster of the day (LLM through LiteLLM, or the offline labeller).

    A failure never destroys published issues: when a cluster fails and the day already has published issues
    (``published``, the stored ``gold.issues``), the day's issues are kept exactly as they were (the returned
    partition is ``keep=True``), and so are their evidence and PocketBase records; the failures are recorded.

    Returns:
        ``gold.issues`` rows of the day, ``gold.label_failures`` rows of the day, the publication decision
        (``{"run_date", "kept_previous"}``, read by the evidence step) and a report whose ``status`` is
        ``labelled``, ``partial`` (some clusters failed), ``failed`` (every cluster failed) or ``no clusters``.
    """
    config = LabellingConfig.model_validate(labelling)
    day = parse_run_date(run_date)
    labeller = build_labeller(config, llm_access)
    groups = _texts_by_cluster(raw_items, item_clusters, day)
    day_clusters = (
        clusters.loc[pd.to_datetime(clusters["cluster_date"]).dt.date == day] if len(clusters) else clusters
    )
    prompts = []
    for row in day_clusters.sort_values("cluster_id").itertuples(index=False):
        group = groups.get(int(row.cluster_id), pd.DataFrame(columns=BRONZE_COLUMNS))
        picked = _nearest(group, config.max_titles)
        prompts.append(
            ClusterPrompt(
                cluster_date=day.isoformat(),
                cluster_id=int(row.cluster_id),
                cluster_size=int(row.cluster_size),
                titles=[str(group.iloc[i]["title"]) for i in picked],
                summary=str(row.summary or ""),
                texts=[str(group.iloc[i]["body"] or "")[:1000] for i in picked],
            )
        )
    labels, failures = label_clusters(prompts, labeller, config.max_concurrency)
    now = _now()
    sizes = {p.cluster_id: p.cluster_size for p in prompts}
    issues = pd.DataFrame(
        [
            {
                "cluster_date": day,
                "cluster_id": cid,
                **label.model_dump(),
                "cluster_size": sizes[cid],
                "labeller": labeller.name,
                "labelled_at": now,
            }
            for (_, cid), label in sorted(labels.items())
        ],
        columns=_ISSUE_COLUMNS,
    )
    failed = pd.DataFrame(
        [
            {
                "cluster_date": day,
                "cluster_id": cid,
                "labeller": labeller.name,
                "error_kind": failure.kind,
                "error": failure.message,
                "attempts": failure.attempts,
                "failed_at": now,
            }
            for (_, cid), failure in sorted(failures.items())
        ],
        columns=_FAILURE_COLUMNS,
    )
    for row in failed.itertuples(index=False):
        logger.warning(
            "cluster %s/%d not labelled (%s after %d attempts): %s",
            day,
            row.cluster_id,
            row.error_kind,
            row.attempts,
            str(row.error).splitlines()[0] if row.error else "",
        )
    stored = _of_day(published, day)
    kept_previous = len(failed) > 0 and len(stored) > 0
    if not prompts:
        status = "no clusters"
    elif not len(failed):
        status = "labelled"
    else:
        status = "failed" if not len(issues) else "partial"
    if kept_previous:
        logger.warning(
            "issue_mining %s: %d of %d clusters failed to label: the %d published issues of the date are kept "
            "as they were (gold.issues, evidence, PocketBase); fix the cause (gold.label_failures) and re-run "
            "the date",
            day,
            len(failed),
            len(prompts),
            len(stored),
        )
    report = {
        "labeller": labeller.name,
        "status": status,
        "clusters": len(prompts),
        "labelled": len(issues),
        "failed": len(failed),
        "failure_kinds": sorted(set(failed["error_kind"])) if len(failed) else [],
        "kept_previous": kept_previous,
        "published": len(stored) if kept_previous else len(issues),
    }
    issues_out = DatePartition(day, stored, keep=True) if kept_previous else DatePartition(day, issues)
    publication = {"run_date": day.isoformat(), "kept_previous": kept_previous}
    return issues_out, DatePartition(day, failed), publication, report


def build_issue_evidence(
    raw_items: pd.DataFrame,
    item_clusters: pd.DataFrame,
    issues: pd.DataFrame,
    run_date: Any,
    publication: dict[str, Any],
) -> DatePartition:
    """Link every item of a labelled cluster to its issue (``gold.issue_evidence``).

    When labelling kept the day's published issues (``publication["kept_previous"]``), their evidence is kept
    as it was too.
    """
    day = parse_run_date(run_date)
    if publication.get("kept_previous"):
        return DatePartition(day, pd.DataFrame(columns=_EVIDENCE_COLUMNS), keep=True)
    groups = _texts_by_cluster(raw_items, item_clusters, day)
    labelled = issues.loc[pd.to_datetime(issues["cluster_date"]).dt.date == day] if len(issues) else issues
    rows = []
    for cluster_id in sorted(int(c) for c in labelled["cluster_id"]):
        for item in groups.get(cluster_id, pd.DataFrame(columns=BRONZE_COLUMNS)).to_dict("records"):
            rows.append(
                {
                    "cluster_date": day,
                    "cluster_id": cluster_id,
                    "url_hash": item["url_hash"],
                    "source": item["source"],
                    "url": item["url"],
                    "title": item["title"],
                    "body": item["body"],
                    "posted_at": item["created_at"],
                }
            )
    return DatePartition(day, pd.DataFrame(rows, columns=_EVIDENCE_COLUMNS))


def sync_live_issues(
    *,
    issues: pd.DataFrame,
    evidence: pd.DataFrame,
    live_state: pd.DataFrame,
    access: PocketBaseAccess,
    run_date: Any,
    pocketbase: dict[str, Any],
) -> tuple[DatePartition, dict[str, Any]]:
    """Upsert the day's issues and evidence into PocketBase; return the day's sync state (``gold.live_issues``).

    The server is the configured one (``access.url``) or, with no URL configured, the embedded PocketBase that
    ``access.session()`` starts for the sync and stops by its PID afterwards (also on failure). An unreachable
    server (before or during the sync) leaves the earlier state of the date untouched (and fails the run, with an
    error naming PocketBase and its URL, only when ``pocketbase.required`` is true). Records deleted on the
    server since the last sync are written again.
    """
    config = PocketBaseConfig.model_validate(pocketbase)
    day = parse_run_date(run_date)

    def of_day(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[pd.to_datetime(frame["cluster_date"]).dt.date == day] if len(frame) else frame

    state = of_day(live_state)
    keep = DatePartition(day, state.reset_index(drop=True))
    pending = len(of_day(issues))
    nothing = {"created": 0, "updated": 0, "synced": 0, "unchanged": 0, "deleted": 0}
    if not config.enabled:
        logger.info("PocketBase sync disabled (issue_mining.pocketbase.enabled: false)")
        return keep, {"status": "disabled", **nothing}
    if not access.embedded and (is_placeholder(access.email) or is_placeholder(access.password)):
        message = (
            f"PocketBase superuser of {access.url} not configured "
            "(issue_mining.pocketbase.email/password in credentials)"
        )
        if config.required:
            raise PocketBaseError(message)
        logger.warning("%s: %d issues of %s left unsynced", message, pending, day)
        return keep, {"status": "no credentials", **nothing, "pending": pending}
    server: dict[str, Any] = {}
    try:
        with access.session(server) as client:
            if not client.healthy():
                message = f"PocketBase not reachable at {access.url}"
                if config.required:
                    raise PocketBaseError(message + " (issue_mining.pocketbase.required is true)")
                logger.warning(
                    "%s: %d issues of %s left unsynced; start the server and re-run the date",
                    message,
                    pending,
                    day,
                )
                return keep, {"status": "unreachable", **nothing, "pending": pending, **server}
            result = sync_issues(
                client,
                day.isoformat(),
                of_day(issues),
                of_day(evidence),
                state,
                issues_collection=config.issues_collection,
                evidence_collection=config.evidence_collection,
                now=_now(),
            )
    except PocketBaseUnreachable as exc:  # the server went away during the sync
        if config.required:
            raise
        logger.warning(
            "%s; the sync state of %s is left as it was: re-run the date when the server is back", exc, day
        )
        return keep, {
            "status": "unreachable",
            **nothing,
            "pending": pending,
            "error": str(exc),
            **server,
            "url": server.get("url", access.url),
        }
    except PocketBaseError as exc:
        # Only an embedded server that did not start is skipped (``server`` is filled once one runs): an error
        # of a running server (refused login, bad reply) is never hidden.
        if config.required or server:
            raise
        logger.warning("%s: %d issues of %s left unsynced", exc, pending, day)
        return keep, {"status": "not started", **nothing, "pending": pending, "error": str(exc)}
    report = {
        "status": result.status,
        "created": result.created,
        "updated": result.updated,
        "synced": result.created_or_updated,
        "unchanged": result.unchanged,
        "restored": result.restored,
        "deleted": result.deleted,
        "evidence": result.evidence_written,
        **server,
    }
    logger.info(
        "PocketBase %s (%s): %d issues created, %d updated, %d unchanged, %d deleted",
        server.get("url"),
        server.get("server"),
        result.created,
        result.updated,
        result.unchanged,
        result.deleted,
    )
    return DatePartition(day, result.state), report


def summarise_run(
    *,
    collection: dict[str, Any],
    embedding: dict[str, Any],
    clustering: dict[str, Any],
    summaries: dict[str, Any],
    labelling: dict[str, Any],
    sync: dict[str, Any],
) -> dict[str, Any]:
    """Log one summary line of the run and return the run summary (``issue_mining.run_summary``)."""
    # No square brackets: Kedro's rich log handler would read them as markup.
    per_source = ", ".join(
        f"{s} {info.get('stored', 0)} {info.get('used', info.get('mode'))}"
        for s, info in collection.get("sources", {}).items()
    )
    logger.info(
        "issue_mining %s: collected %d items (%s); %d quarantined, %d duplicates, %d seen earlier; "
        "embedded %d new, %d cached; %d clusters; labelled %d with %s, %d failures; PocketBase %s: %d created, "
        "%d updated, %d unchanged",
        collection.get("run_date"),
        collection.get("stored", 0),
        per_source,
        collection.get("quarantined", 0),
        collection.get("duplicates", 0),
        collection.get("already_seen", 0),
        embedding.get("embedded", 0),
        embedding.get("cached", 0),
        clustering.get("clusters", 0),
        labelling.get("labelled", 0),
        labelling.get("labeller"),
        labelling.get("failed", 0),
        sync.get("status") if not sync.get("server") else f"{sync.get('status')} ({sync.get('server')})",
        sync.get("created", 0),
        sync.get("updated", 0),
        sync.get("unchanged", 0),
    )
    status = {"failed": "failed", "partial": "partial"}.get(labelling.get("status", ""), "ok")
    if status != "ok":
        logger.warning(
            "issue_mining %s %s: %d of %d clusters not labelled (%s)%s",
            collection.get("run_date"),
            status,
            labelling.get("failed", 0),
            labelling.get("clusters", 0),
            ", ".join(labelling.get("failure_kinds", [])),
            "; the published issues of the date were kept" if labelling.get("kept_previous") else "",
        )
    return {
        "run_date": collection.get("run_date"),
        "status": status,
        "finished_at": _now().isoformat(timespec="seconds"),
        "collection": collection,
        "embedding": embedding,
        "clustering": clustering,
        "summaries": summaries,
        "labelling": labelling,
        "sync": sync,
    }


class IssueMiningRunFailed(RuntimeError):
    """Every cluster of the run failed to label: the run ends with an error (its summary is already written)."""


def check_run_status(run_summary: dict[str, Any]) -> None:
    """Fail the run (non-zero exit) when its summary says ``failed``; the summary and failures are saved first.

    Raises:
        IssueMiningRunFailed: Every cluster of the day failed to label.
    """
    if run_summary.get("status") != "failed":
        return
    labelling = run_summary.get("labelling", {})
    kept = (
        "its published issues, evidence and PocketBase records were kept as they were"
        if labelling.get("kept_previous")
        else "nothing was published"
    )
    raise IssueMiningRunFailed(
        f"issue_mining {run_summary.get('run_date')}: all {labelling.get('clusters', 0)} clusters failed to "
        f"label with {labelling.get('labeller')} ({', '.join(labelling.get('failure_kinds', []))}); {kept}. "
        "The errors are in gold.label_failures and the run summary (issue_mining.run_summary)."
    )
