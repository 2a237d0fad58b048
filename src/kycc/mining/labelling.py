"""Cluster labelling: an LLM through LiteLLM (validated structured replies), or a deterministic offline labeller.

Every reply is validated against ``IssueLabel`` (the seed's fields and enums). An invalid reply is sent back to
the model with the validation errors and retried ``max_invalid_retries`` times. Transient API errors (429,
timeouts, connection errors, 5xx) are retried ``num_retries`` times with back-off (``Retry-After`` honoured);
``timeout`` applies per call. Missing or refused credentials are never retried
(``auth_error``; the labeller then makes no further call). The retries are done here rather than by LiteLLM's ``num_retries`` wrapper,
which needs ``tenacity`` (not a dependency) and would stack on the provider SDK's own retries (disabled with
``max_retries=0``). A cluster that still has no valid label is recorded as a failure (``gold.label_failures``),
not silently dropped. At most ``max_concurrency`` (≤ 8) requests are in flight.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kycc.credentials import is_placeholder

__all__ = [
    "CATEGORIES",
    "IMPACT_LEVELS",
    "ClusterPrompt",
    "IssueLabel",
    "LLMAccess",
    "LabelFailure",
    "Labeller",
    "LiteLLMLabeller",
    "OfflineLabeller",
    "build_labeller",
    "build_messages",
    "label_clusters",
    "parse_reply",
]

logger = logging.getLogger(__name__)

CATEGORIES = ("ai", "finance", "compliance", "logistics", "healthtech", "devtools", "ecommerce", "other")
IMPACT_LEVELS = ("low", "medium", "high")
MAX_CONCURRENCY = 8
Category = Literal["ai", "finance", "compliance", "logistics", "healthtech", "devtools", "ecommerce", "other"]
Impact = Literal["low", "medium", "high"]


# A quoted span (a post title such as "Payouts missing? Help"): its inner ? ! . end no sentence of the text.
_QUOTED = re.compile(r'"[^"\n]{1,200}"|“[^”\n]{1,200}”|‘[^’\n]{1,200}’|«[^»\n]{1,200}»')


def _mask_quote(match: re.Match[str]) -> str:
    span = match.group(0)
    inner = re.sub(r"[.?!…]", "_", span[1:-1])
    return span[0] + inner + span[-1]


def _sentences(text: str) -> list[str]:
    """The sentences of ``text``; punctuation inside quotes (a quoted title ending in "?") splits nothing."""
    import nupunkt

    masked = _QUOTED.sub(_mask_quote, text)
    spans: list[str] = []
    position = 0
    for sentence in nupunkt.sent_tokenize(masked):  # masking keeps lengths: map back to the original text
        start = masked.find(sentence, position)
        if start < 0:
            spans.append(sentence)
            continue
        spans.append(text[start : start + len(sentence)])
        position = start + len(sentence)
    return [s for s in spans if s.strip()]


class IssueLabel(BaseModel):
    """The structured reply expected from the labeller (one per cluster)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    canonical_title: str = Field(
        min_length=3, max_length=120, description="Short neutral name of the problem"
    )
    category: Category = Field(description="One of: " + ", ".join(CATEGORIES))
    description: str = Field(
        min_length=10, max_length=600, description="1-2 sentences describing the problem"
    )
    would_pay_signal: bool = Field(description="Do people say they would pay for a solution?")
    impact_level: Impact = Field(description="low, medium or high")

    @field_validator("category", "impact_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("would_pay_signal", mode="before")
    @classmethod
    def _strict_bool(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            return value.strip().lower() == "true"
        raise ValueError("must be a JSON boolean (true or false)")

    @field_validator("description")
    @classmethod
    def _one_or_two_sentences(cls, value: str) -> str:
        if len(_sentences(value)) > 2:
            raise ValueError("must be 1-2 sentences")
        return value


@dataclass
class ClusterPrompt:
    """What the labeller sees of one cluster: sample titles and the LexRank summary (texts for offline only)."""

    cluster_date: str
    cluster_id: int
    cluster_size: int
    titles: list[str]
    summary: str
    texts: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, int]:
        return self.cluster_date, self.cluster_id


class LabelFailure(Exception):  # noqa: N818 - a recorded outcome, not only an error
    """A cluster could not be labelled: kind ``invalid_reply`` or ``api_error``, after ``attempts`` calls."""

    def __init__(self, kind: str, message: str, attempts: int) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.attempts = attempts


class Labeller(Protocol):
    name: str

    def label(self, prompt: ClusterPrompt) -> IssueLabel: ...


SYSTEM_PROMPT = (
    "You label clusters of problems that people reported on GitHub, StackOverflow, Reddit and Hacker News, "
    "for product-opportunity mining. Reply with one JSON object and nothing else, with exactly these keys: "
    "canonical_title (string, at most 120 characters: a short neutral name of the shared problem), "
    f"category (one of: {', '.join(CATEGORIES)}), "
    "description (string: 1-2 sentences describing the problem), "
    "would_pay_signal (boolean: true when people say they would pay, mention budgets or paid tools), "
    f"impact_level (one of: {', '.join(IMPACT_LEVELS)})."
)


def build_messages(prompt: ClusterPrompt) -> list[dict[str, str]]:
    """Chat messages for one cluster."""
    titles = "\n".join(f"- {t}" for t in prompt.titles[:10])
    user = (
        f"Cluster of {prompt.cluster_size} items.\n\nSample titles:\n{titles}\n\n"
        f"Summary:\n{prompt.summary or '(no summary)'}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_reply(content: str | None) -> IssueLabel:
    """Validate a model reply (a JSON object, possibly inside a Markdown code fence).

    Raises:
        ValueError: Empty reply, not JSON, or not an object.
        pydantic.ValidationError: Fields missing or out of range.
    """
    if not content or not content.strip():
        raise ValueError("empty reply")
    match = _FENCE.match(content)
    text = match.group(1) if match else content.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"reply is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"reply is a JSON {type(data).__name__}, expected an object")
    return IssueLabel.model_validate(data)


# -- offline --------------------------------------------------------------------------------------------------

# Word-start patterns per category ("reconcil" matches reconcile/reconciliation); short words end with \b.
_CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "ai": (
        "llms?\\b",
        "rag\\b",
        "gpt",
        "openai",
        "models?\\b",
        "prompt",
        "embedding",
        "fine-tun",
        "hallucinat",
        "tokens?\\b",
        "agents?\\b",
        "chatbot",
        "cuda\\b",
        "gpus?\\b",
        "lora\\b",
        "langchain",
        "inference",
        "machine learning",
    ),
    "finance": (
        "reconcil",
        "payouts?\\b",
        "invoic",
        "ledger",
        "accounting",
        "currenc",
        "fx\\b",
        "payments?\\b",
        "bank",
        "credit",
        "lenders?\\b",
        "loans?\\b",
        "financ",
        "stripe",
        "rounding",
        "accounts payable",
    ),
    "compliance": (
        "kyc\\b",
        "aml\\b",
        "gdpr",
        "soc ?2",
        "audit",
        "regulat",
        "sanction",
        "compliance",
        "verification",
        "identity",
        "privacy",
        "erasure",
        "screening",
        "anti-money",
    ),
    "logistics": (
        "shipments?\\b",
        "shipping",
        "carriers?\\b",
        "tracking",
        "customs",
        "warehouse",
        "3pl",
        "parcels?\\b",
        "deliver",
        "hs codes?\\b",
        "tariff",
        "freight",
        "logistic",
        "routes?\\b",
    ),
    "healthtech": (
        "fhir",
        "hl7",
        "hipaa",
        "patients?\\b",
        "ehrs?\\b",
        "clinic",
        "hospital",
        "prior auth",
        "payers?\\b",
        "health",
        "medical",
        "phi\\b",
        "baa\\b",
    ),
    "devtools": (
        "ci\\b",
        "flaky",
        "docker",
        "builds?\\b",
        "dependenc",
        "pipelines?\\b",
        "github actions",
        "pytest",
        "secrets?\\b",
        "logs?\\b",
        "logging",
        "tests?\\b",
        "semver",
        "deploy",
        "kubernetes",
    ),
    "ecommerce": (
        "shopify",
        "amazon",
        "etsy",
        "ebay",
        "storefront",
        "skus?\\b",
        "oversold",
        "overselling",
        "returns?\\b",
        "refund",
        "catalog",
        "product feed",
        "merchant",
        "sellers?\\b",
        "cart\\b",
        "orders?\\b",
    ),
}
_CATEGORY_PATTERNS = {
    c: re.compile(r"\b(?:" + "|".join(words) + ")", re.IGNORECASE) for c, words in _CATEGORY_WORDS.items()
}
_PAY = re.compile(
    r"\b(would|will|happy to|happily|gladly|willing to) (gladly |happily )?pay\b|\bpay (for|per)\b|"
    r"\bbudget\b|\bpaid (tool|plan|tier|service|app)|\bpricing\b|\bworth (paying|it)\b|"
    r"\bpay for itself\b|\bswitch vendors\b",
    re.IGNORECASE,
)
_URGENT = re.compile(
    r"\b(production|outage|data loss|regulators?|auditors?|fines?|security|leak(ed|s)?|revenue|"
    r"churn|oversold|overselling|blocked|cannot ship|compliance|angry|burning out|crash(es|ed)?)\b",
    re.IGNORECASE,
)
_TITLE_PREFIX = re.compile(
    r"^\s*(\[[^\]]{1,20}\]\s*|ask hn:\s*|show hn:\s*|rant:\s*|question:\s*|"
    r"feature request:\s*)+",
    re.IGNORECASE,
)


_TITLE_SUFFIX = re.compile(r"(\s*(\([^()]{1,40}\)|\[[^\]]{1,20}\]|\s-\s[^-]{1,30}))+\s*$")


def _stop_words() -> frozenset[str]:
    from sumy.utils import get_stop_words

    return frozenset(get_stop_words("english")) | {"anyone", "how", "why", "what", "ask", "using", "need"}


_STOP = _stop_words()


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9'-]{2,}", text.lower())}


class OfflineLabeller:
    """Deterministic labels from keywords, title overlap and the summary (no model, no network)."""

    name = "offline"

    def label(self, prompt: ClusterPrompt) -> IssueLabel:
        titles = [t for t in prompt.titles if t and t.strip()] or [f"Cluster {prompt.cluster_id}"]
        corpus = " ".join([*titles, prompt.summary, *prompt.texts]).lower()
        scores = {c: len(pattern.findall(corpus)) for c, pattern in _CATEGORY_PATTERNS.items()}
        best = max(scores.values())
        # Two keyword hits at least, else "other"; ties go to the first category in CATEGORIES order.
        category = next(c for c in CATEGORIES if c != "other" and scores[c] == best) if best >= 2 else "other"

        # The canonical title: among the titles, the most on-topic for the category, then the most central.
        texts = [*prompt.texts, *[""] * len(titles)]
        pattern = _CATEGORY_PATTERNS.get(category)
        topical = [
            len(pattern.findall(f"{t} {texts[i]}".lower())) if pattern else 0 for i, t in enumerate(titles)
        ]
        bags = [_words(t) for t in titles]
        # The cluster's keywords: words of several of its items (title + text); a title naming more of them (by
        # how many items share each) names the shared problem, not one post's detail.
        documents = [_words(f"{t} {texts[i]}") - _STOP for i, t in enumerate(titles)]
        shared = Counter(w for doc in documents for w in doc)
        coverage = [sum(shared[w] for w in bag - _STOP if shared[w] >= 2) for bag in bags]

        def rank(i: int) -> tuple[int, int, float, int]:
            overlap = sum(
                len(bags[i] & bags[j]) / max(len(bags[i] | bags[j]), 1) for j in range(len(bags)) if j != i
            )
            return (-coverage[i], -topical[i], -overlap, i)  # then the nearest the centroid (titles' order)

        central = titles[min(range(len(titles)), key=rank)]
        title = _TITLE_PREFIX.sub("", central).strip() or central.strip()
        trimmed = _TITLE_SUFFIX.sub("", title).strip()
        if len(trimmed.split()) >= 3:
            title = trimmed
        if len(title) > 120:
            title = title[:117].rsplit(" ", 1)[0] + "..."
        if len(title) < 3:
            title = f"Cluster {prompt.cluster_id}: {title}".strip()

        sentences = _sentences(prompt.summary) if prompt.summary else []
        description = " ".join(sentences[:2]) if sentences else ""
        if len(description) > 600 or len(description) < 10:
            description = ""
        if not description:
            description = f"{prompt.cluster_size} reports about: {title.rstrip('.?!')}."

        would_pay = bool(_PAY.search(corpus))
        urgent = len(_URGENT.findall(corpus))
        if prompt.cluster_size >= 8 or (urgent >= 3 and prompt.cluster_size >= 4):
            impact = "high"
        elif prompt.cluster_size >= 4 or urgent >= 1:
            impact = "medium"
        else:
            impact = "low"
        return IssueLabel(
            canonical_title=title,
            category=category,
            description=description,
            would_pay_signal=would_pay,
            impact_level=impact,
        )


# -- LiteLLM --------------------------------------------------------------------------------------------------


def import_litellm():  # noqa: ANN201
    """Import LiteLLM with its bundled model cost map (it fetches one from the network otherwise)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


class LiteLLMLabeller:
    """Label clusters with any LiteLLM model (``groq/…``, ``anthropic/…``, ``openai/…``, a local server).

    Args:
        model: LiteLLM model string, e.g. ``groq/llama-3.1-8b-instant``.
        api_base: Server root for OpenAI-compatible servers (``http://127.0.0.1:8000/v1``).
        api_key: Key (else LiteLLM reads the provider's environment variable).
        timeout: Seconds per call.
        num_retries: Retries of one call on 429 / timeout / connection error / 5xx.
        max_invalid_retries: Further calls after a reply that fails validation.
        response_format: ``json_schema`` (the pydantic model), ``json_object`` or ``none``.
        temperature, max_tokens: Sampling settings.
        completion: Injected completion function (tests); ``litellm.completion`` by default.
        backoff_seconds, max_backoff_seconds: Exponential back-off when the reply has no ``Retry-After``.
    """

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        num_retries: int = 2,
        max_invalid_retries: int = 2,
        response_format: str = "json_schema",
        temperature: float = 0.0,
        max_tokens: int = 400,
        completion: Callable[..., Any] | None = None,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
    ) -> None:
        if not model:
            raise ValueError("model is required (e.g. 'groq/llama-3.1-8b-instant')")
        if response_format not in {"json_schema", "json_object", "none"}:
            raise ValueError(
                f"response_format must be json_schema, json_object or none, got {response_format!r}"
            )
        self.model = model
        self.api_base = api_base
        self.api_key = api_key
        self.timeout = float(timeout)
        self.num_retries = int(num_retries)
        self.max_invalid_retries = int(max_invalid_retries)
        self.response_format = response_format
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._completion = completion
        self.backoff_seconds = float(backoff_seconds)
        self.max_backoff_seconds = float(max_backoff_seconds)
        self.name = f"litellm:{model}"
        self._refused: str | None = None  # set by the first missing/refused-credentials error

    def _complete(self) -> Callable[..., Any]:
        if self._completion is None:
            self._completion = import_litellm().completion
        return self._completion

    def _call(
        self,
        complete: Callable[..., Any],
        messages: list[dict[str, str]],
        kwargs: dict[str, Any],
        prompt: ClusterPrompt,
    ) -> tuple[Any, int]:
        """One completion, retrying transient API errors; returns the response and the calls made.

        Missing or refused credentials are not retried (LiteLLM may report them as a connection or server
        error): the first one is recorded as ``auth_error`` and this labeller makes no further call.
        """
        transient = _transient_errors()
        for attempt in range(self.num_retries + 1):
            if self._refused is not None:
                raise LabelFailure("auth_error", self._refused, attempt)
            try:
                return complete(messages=messages, **kwargs), attempt + 1
            except Exception as exc:  # noqa: BLE001 - every provider error ends as a recorded failure
                kind = type(exc).__name__
                message = f"{kind}: {exc}"
                if _is_credential_error(exc):
                    self._refused = (
                        f"credentials missing or refused for {self.model} ({message[:800]}): set "
                        "issue_mining.llm.api_key in conf/local/credentials.yml or the provider's "
                        "environment variable"
                    )
                    raise LabelFailure("auth_error", self._refused, attempt + 1) from exc
                if not isinstance(exc, transient) or attempt >= self.num_retries:
                    raise LabelFailure("api_error", message[:1000], attempt + 1) from exc
                delay = _retry_after(exc)
            delay = min(
                self.backoff_seconds * 2**attempt if delay is None else delay, self.max_backoff_seconds
            )
            logger.warning(
                "cluster %s/%s: %s, retry %d in %.1fs",
                prompt.cluster_date,
                prompt.cluster_id,
                kind,
                attempt + 1,
                delay,
            )
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def label(self, prompt: ClusterPrompt) -> IssueLabel:
        """One validated label for ``prompt``.

        Raises:
            LabelFailure: API errors after ``num_retries``, or invalid replies after ``max_invalid_retries``.
        """
        complete = self._complete()
        messages = build_messages(prompt)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "timeout": self.timeout,
            "max_retries": 0,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.api_key:
            kwargs["api_key"] = self.api_key
        if self.response_format == "json_schema":
            kwargs["response_format"] = IssueLabel
        elif self.response_format == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        attempts = 0
        last_error = ""
        for _ in range(self.max_invalid_retries + 1):
            try:
                response, calls = self._call(complete, messages, kwargs, prompt)
            except LabelFailure as failure:
                failure.attempts += attempts
                raise
            attempts += calls
            content = response.choices[0].message.content
            try:
                return parse_reply(content)
            except (ValueError, ValidationError) as exc:
                last_error = str(exc)[:1000]
                logger.warning(
                    "cluster %s/%s: invalid reply (attempt %d): %s",
                    prompt.cluster_date,
                    prompt.cluster_id,
                    attempts,
                    last_error.splitlines()[0],
                )
                messages = [
                    *messages,
                    {"role": "assistant", "content": content or ""},
                    {
                        "role": "user",
                        "content": "That reply was invalid: "
                        + last_error
                        + "\nReply again with only the JSON object, following the rules exactly.",
                    },
                ]
        raise LabelFailure("invalid_reply", last_error, attempts)


def _transient_errors() -> tuple[type[BaseException], ...]:
    litellm = import_litellm()
    names = (
        "RateLimitError",
        "Timeout",
        "APIConnectionError",
        "InternalServerError",
        "ServiceUnavailableError",
        "BadGatewayError",
    )
    return tuple(getattr(litellm, n) for n in names if hasattr(litellm, n))


# What the provider SDKs say when no key was given (LiteLLM may wrap this in a connection/server error class).
_NO_KEY = re.compile(r"missing credentials|api_key client option must be set|no api key", re.IGNORECASE)
_REFUSED_KEY = re.compile(
    r"invalid[ _]api[ _]key|incorrect api key|api key not valid|unauthori[sz]ed|authentication", re.IGNORECASE
)


def _is_credential_error(exc: BaseException) -> bool:
    """A missing, invalid or refused credential (HTTP 401/403, LiteLLM's AuthenticationError, "Missing
    credentials" from the provider SDK): an error that no retry fixes. 429 and 5xx stay retryable."""
    litellm = import_litellm()
    refused = tuple(
        getattr(litellm, n) for n in ("AuthenticationError", "PermissionDeniedError") if hasattr(litellm, n)
    )
    status = getattr(exc, "status_code", None)
    text = str(exc)
    if (refused and isinstance(exc, refused)) or status in (401, 403) or _NO_KEY.search(text):
        return True
    if status == 429 or (isinstance(status, int) and status >= 500):
        return False
    return bool(_REFUSED_KEY.search(text))


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from the provider's ``Retry-After`` header, when LiteLLM kept the reply headers."""
    for headers in (
        getattr(exc, "litellm_response_headers", None),
        getattr(exc, "headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        value = headers.get("retry-after") if headers else None
        if value is not None:
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return None
    return None


# -- running a day's clusters ---------------------------------------------------------------------------------


def label_clusters(
    prompts: Sequence[ClusterPrompt], labeller: Labeller, max_concurrency: int = MAX_CONCURRENCY
) -> tuple[dict[tuple[str, int], IssueLabel], dict[tuple[str, int], LabelFailure]]:
    """Label every cluster with at most ``max_concurrency`` (capped at 8) calls in flight.

    Returns:
        ``(labels, failures)`` keyed by ``(cluster_date, cluster_id)``; every prompt is in exactly one.
    """
    workers = max(1, min(int(max_concurrency), MAX_CONCURRENCY))
    labels: dict[tuple[str, int], IssueLabel] = {}
    failures: dict[tuple[str, int], LabelFailure] = {}
    if not prompts:
        return labels, failures
    lock = threading.Lock()
    started = time.perf_counter()

    def run(prompt: ClusterPrompt) -> None:
        try:
            result = labeller.label(prompt)
        except LabelFailure as failure:
            with lock:
                failures[prompt.key] = failure
        except Exception as exc:  # noqa: BLE001 - a labeller bug must not lose the other clusters
            with lock:
                failures[prompt.key] = LabelFailure("error", f"{type(exc).__name__}: {exc}"[:1000], 1)
        else:
            with lock:
                labels[prompt.key] = result

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="label") as pool:
        futures = [pool.submit(run, p) for p in prompts]
        for done, future in enumerate(as_completed(futures), start=1):
            future.result()
            if done % 10 == 0 or done == len(futures):
                logger.info(
                    "labelled %d/%d clusters with %s (%d failed, %.1fs)",
                    done,
                    len(futures),
                    labeller.name,
                    len(failures),
                    time.perf_counter() - started,
                )
    return labels, failures


# -- choosing the labeller ------------------------------------------------------------------------------------


@dataclass
class LLMAccess:
    """LLM credentials (``issue_mining.llm`` in ``conf/local/credentials.yml``), loaded by the catalog.

    Attributes:
        api_key: Provider key; when empty, LiteLLM reads the provider's environment variable (``GROQ_API_KEY``…).
        api_base: Server root overriding the parameter (e.g. a self-hosted OpenAI-compatible server).
        completion: Injected completion function (tests); ``litellm.completion`` by default.
    """

    api_key: str | None = None
    api_base: str | None = None
    completion: Callable[..., Any] | None = None


def _provider_key_in_env(model: str) -> bool:
    try:
        return bool(import_litellm().validate_environment(model=model).get("keys_in_environment"))
    except Exception:  # noqa: BLE001 - an unknown provider simply has no key in the environment
        return False


def build_labeller(config: Any, access: LLMAccess | None) -> Labeller:
    """The LiteLLM labeller when an LLM is configured, else the offline one.

    ``config`` is a ``LabellingConfig``. ``mode: llm`` requires a model; ``mode: auto`` uses the LLM when a model is
    set and a key is available (credentials, environment) or an ``api_base`` is given.
    """
    access = access or LLMAccess()
    if access.api_key is not None and is_placeholder(access.api_key):
        # The template's ``sk-xxx`` is no key: never sent to a provider.
        access = LLMAccess(api_key=None, api_base=access.api_base, completion=access.completion)
    api_base = access.api_base or config.api_base
    if config.mode == "offline":
        return OfflineLabeller()
    if not config.model:
        if config.mode == "llm":
            raise ValueError(
                "issue_mining.labelling.mode is 'llm' but no labelling.model is set "
                "(e.g. groq/llama-3.1-8b-instant)"
            )
        return OfflineLabeller()
    if config.mode == "auto" and not (
        access.api_key or api_base or access.completion or _provider_key_in_env(config.model)
    ):
        logger.warning(
            "labelling.model %s is set but no API key was found (credentials issue_mining.llm.api_key "
            "or the provider's environment variable): using the offline labeller",
            config.model,
        )
        return OfflineLabeller()
    return LiteLLMLabeller(
        config.model,
        api_base=api_base,
        api_key=access.api_key,
        timeout=config.timeout_seconds,
        num_retries=config.num_retries,
        max_invalid_retries=config.max_invalid_retries,
        response_format=config.response_format,
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        completion=access.completion,
    )
